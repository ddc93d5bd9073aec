"""The names the SQL guard knows: side-effect-free functions, operators, types, settings,
and the dangerous catalogue that is blocked wherever it appears.

Names are compared as PostgreSQL's parser leaves them: unquoted identifiers are lower
case, a quoted ``"LOWER"`` is a different (user) function. Allowed names count only
unqualified or qualified with ``pg_catalog``; denied names count in any schema and any
case (``dblink.dblink``, ``"PG_READ_FILE"``), so the deny-list errs towards blocking.
"""

from __future__ import annotations

import re


def words(text: str) -> frozenset[str]:
    """The whitespace-separated names in ``text``."""
    return frozenset(text.split())


AGGREGATES = """
    count sum avg min max any_value array_agg string_agg bool_and bool_or every
    bit_and bit_or bit_xor json_agg jsonb_agg json_agg_strict jsonb_agg_strict
    json_object_agg jsonb_object_agg json_object_agg_strict jsonb_object_agg_strict
    json_object_agg_unique jsonb_object_agg_unique json_object_agg_unique_strict
    jsonb_object_agg_unique_strict range_agg range_intersect_agg xmlagg
    stddev stddev_pop stddev_samp variance var_pop var_samp corr covar_pop covar_samp
    regr_avgx regr_avgy regr_count regr_intercept regr_r2 regr_slope regr_sxx regr_sxy
    regr_syy mode percentile_cont percentile_disc
"""
WINDOW = """
    row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value
    last_value nth_value
"""
MATH = """
    abs cbrt ceil ceiling degrees div exp factorial floor gcd lcm ln log log10 min_scale
    mod pi power pow radians round scale sign sqrt trim_scale trunc width_bucket random
    random_normal acos acosd asin asind atan atand atan2 atan2d cos cosd cot cotd sin sind
    tan tand sinh cosh tanh asinh acosh atanh erf erfc gamma lgamma num_nulls num_nonnulls
"""
STRINGS = """
    ascii bit_length btrim char_length character_length chr concat concat_ws format
    initcap left length lower lpad ltrim md5 normalize is_normalized octet_length overlay
    parse_ident position quote_ident quote_literal quote_nullable regexp_count
    regexp_instr regexp_like regexp_match regexp_matches regexp_replace
    regexp_split_to_array regexp_split_to_table regexp_substr repeat replace reverse right
    rpad rtrim split_part starts_with string_to_array string_to_table strpos substr
    substring to_ascii to_hex to_bin to_oct translate unistr upper casefold
    similar_to_escape sha224 sha256 sha384 sha512 encode decode convert_from convert_to
    get_byte get_bit bit_count crc32 crc32c pg_collation_for
    to_tsvector to_tsquery plainto_tsquery phraseto_tsquery websearch_to_tsquery ts_rank
    ts_rank_cd ts_headline setweight strip numnode querytree tsvector_to_array
    array_to_tsvector ts_delete ts_filter
"""
DATES = """
    age clock_timestamp date_add date_bin date_part date_subtract date_trunc extract
    isfinite justify_days justify_hours justify_interval make_date make_interval
    make_time make_timestamp make_timestamptz now statement_timestamp timeofday
    transaction_timestamp to_timestamp to_date to_char to_number timezone overlaps
"""
ARRAYS_AND_RANGES = """
    array_append array_cat array_dims array_fill array_length array_lower array_ndims
    array_position array_positions array_prepend array_remove array_replace
    array_reverse array_sample array_shuffle array_sort array_to_string array_upper
    cardinality trim_array unnest generate_series generate_subscripts
    isempty lower_inc upper_inc lower_inf upper_inf range_merge multirange
    int4range int8range numrange tsrange tstzrange daterange int4multirange
    int8multirange nummultirange tsmultirange tstzmultirange datemultirange
"""
JSON = """
    to_json to_jsonb array_to_json row_to_json json_build_array jsonb_build_array
    json_build_object jsonb_build_object json_object jsonb_object json_array_elements
    jsonb_array_elements json_array_elements_text jsonb_array_elements_text
    json_array_length jsonb_array_length json_each jsonb_each json_each_text
    jsonb_each_text json_extract_path jsonb_extract_path json_extract_path_text
    jsonb_extract_path_text json_object_keys jsonb_object_keys json_populate_record
    jsonb_populate_record jsonb_populate_record_valid json_populate_recordset
    jsonb_populate_recordset json_to_record jsonb_to_record json_to_recordset
    jsonb_to_recordset json_strip_nulls jsonb_strip_nulls jsonb_set jsonb_set_lax
    jsonb_insert jsonb_path_exists jsonb_path_match jsonb_path_query
    jsonb_path_query_array jsonb_path_query_first jsonb_path_exists_tz
    jsonb_path_match_tz jsonb_path_query_tz jsonb_path_query_array_tz
    jsonb_path_query_first_tz jsonb_pretty json_typeof jsonb_typeof
"""
MISC = """
    gen_random_uuid uuidv4 uuidv7 uuid_extract_timestamp uuid_extract_version
    current_database current_schema current_schemas version pg_typeof format_type
    host masklen network broadcast family netmask hostmask abbrev inet_same_family
    inet_merge xmlcomment xmltext xmlexists system_user
    text int2 int4 int8 float4 float8 numeric date bool
"""
# Side-effect-free: they compute from their arguments (and the clock or a random source).
# Everything else, user functions included, needs a person's approval in a read.
ALLOWED_FUNCTIONS = words(
    " ".join((AGGREGATES, WINDOW, MATH, STRINGS, DATES, ARRAYS_AND_RANGES, JSON, MISC))
)

# Blocked wherever they appear: server files, large objects, other sessions and server
# control, outside connections, session settings, locks, notifications, sleeping, WAL and
# replication, and functions that run SQL text of their own.
DENIED_FUNCTIONS = words(
    """
    pg_read_file pg_read_binary_file pg_stat_file pg_ls_dir pg_current_logfile
    pg_hba_file_rules pg_ident_file_mappings pg_show_all_file_settings pg_config
    pg_logdir_ls loread lowrite
    pg_terminate_backend pg_cancel_backend pg_signal_backend pg_reload_conf
    pg_rotate_logfile pg_rotate_logfile_old pg_promote pg_log_backend_memory_contexts
    pg_start_backup pg_stop_backup pg_import_system_collations pg_nextoid
    pg_log_standby_snapshot pg_truncate_visibility_map pg_sync_replication_slots
    set_config pg_notify pg_sleep pg_sleep_for pg_sleep_until pg_current_xact_id
    pg_current_xact_id_if_assigned pg_stat_statements_reset pg_prewarm
    pg_stop_making_pinned_objects pg_extension_config_dump
    query_to_xml query_to_xmlschema query_to_xml_and_xmlschema cursor_to_xml
    cursor_to_xmlschema table_to_xml table_to_xmlschema table_to_xml_and_xmlschema
    schema_to_xml schema_to_xmlschema schema_to_xml_and_xmlschema database_to_xml
    database_to_xmlschema database_to_xml_and_xmlschema ts_stat ts_rewrite
    """
)
DENIED_PATTERN = re.compile(
    r"^(lo_|pg_ls_|pg_read_|pg_file_|dblink|postgres_fdw|pg_advisory|pg_try_advisory"
    r"|pg_stat_reset|pg_replication_|pg_logical_|pg_create_|pg_drop_|pg_copy_|pg_backup_"
    r"|pg_switch_|binary_upgrade_|pg_background|txid_|pg_restore_|pg_clear_|pg_set_"
    r"|brin_summarize|brin_desummarize|gin_clean_pending_list)"
    r"|_wal|xlog|replication_slot|_to_xml"
)
# Extensions whose every function reaches outside (pg_cron schedules SQL text as jobs).
DENIED_SCHEMAS = words("cron dblink pgagent pg_background")

# Catalog relations that hold secrets or read server files (superusers can read them).
DENIED_RELATIONS = words(
    """
    pg_authid pg_shadow pg_user_mapping pg_user_mappings pg_hba_file_rules
    pg_ident_file_mappings pg_file_settings pg_config pg_largeobject pg_statistic
    pg_subscription
    """
)
SYSTEM_SCHEMAS = frozenset({"pg_catalog", "information_schema", "pg_toast"})

OPERATORS = words(
    """
    + - * / % ^ |/ ||/ @ & | # ~ << >> = <> != < > <= >= || ~~ ~~* !~~ !~~* ~* !~ !~*
    -> ->> #> #>> @> <@ ? ?| ?& #- @? @@ && -|- &< &> <<| |>> &<| |&> <-> ## ?# ?- ?||
    ~= ^@ <<= >>= @@@
    """
) | {"BETWEEN", "NOT BETWEEN", "BETWEEN SYMMETRIC", "NOT BETWEEN SYMMETRIC"}

# Built-in types a cast may name (a cast to a user type can run the type's functions).
TYPES = words(
    """
    bool boolean int2 int4 int8 smallint integer bigint int float4 float8 real numeric
    decimal money text varchar bpchar char name bytea date time timetz timestamp
    timestamptz interval json jsonb jsonpath uuid inet cidr macaddr macaddr8 bit varbit
    xml tsvector tsquery regclass regtype oid int4range int8range numrange tsrange
    tstzrange daterange int4multirange int8multirange nummultirange tsmultirange
    tstzmultirange datemultirange
    """
)

# Settings a query author may SHOW freely; SHOW ALL and the rest need approval (file
# paths, SSL and authentication settings are nobody's business in a read).
SETTINGS = words(
    """
    server_version server_version_num server_encoding client_encoding timezone datestyle
    intervalstyle lc_collate lc_ctype lc_messages lc_monetary lc_numeric lc_time
    search_path statement_timeout transaction_isolation transaction_read_only
    default_transaction_isolation default_transaction_read_only
    standard_conforming_strings integer_datetimes max_connections work_mem
    extra_float_digits bytea_output default_text_search_config block_size
    max_identifier_length
    """
)
TABLESAMPLE_METHODS = frozenset({"system", "bernoulli"})


def qualified(names: list[str]) -> tuple[str | None, str]:
    """``(schema, name)`` of a possibly qualified name (a catalog part is kept in schema)."""
    if len(names) == 1:
        return None, names[0]
    return ".".join(names[:-1]), names[-1]


def built_in(names: list[str], allowed: frozenset[str]) -> bool:
    """Whether ``names`` is an allowed built-in: unqualified or in ``pg_catalog``."""
    schema, name = qualified(names)
    return schema in (None, "pg_catalog") and name in allowed


def denied_function(names: list[str]) -> bool:
    """Whether a function is on the dangerous catalogue (its name in any case and schema,
    or any function of a denied extension's schema)."""
    schema, name = qualified([part.lower() for part in names])
    if schema is not None and schema.rsplit(".", 1)[-1] in DENIED_SCHEMAS:
        return True
    return name in DENIED_FUNCTIONS or DENIED_PATTERN.search(name) is not None
