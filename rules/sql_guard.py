"""What a SQL text does, judged from PostgreSQL's own parse tree: read, write, or blocked.

``pglast`` (libpg_query, the server's parser) turns the text into the tree the server
would run, so comments, literals, dollar quotes and case cannot hide anything. Every node
of every statement is judged (writable CTEs, subqueries, EXPLAIN, MERGE actions, function
calls anywhere) and the strongest effect wins:

- **read**: a SELECT (VALUES, set operations, CTEs) without INTO or FOR UPDATE/SHARE,
  whose functions, operators and casts are all known side-effect-free built-ins; SHOW of
  a harmless setting; EXPLAIN of a read.
- **write** (a person approves): INSERT, UPDATE/DELETE with a WHERE that names a column,
  MERGE without DELETE, CREATE TABLE/VIEW/INDEX/TABLE AS, ALTER TABLE ADD; and any read
  that calls a function, operator or cast the guard does not know (a user function can
  do anything).
- **blocked**: everything else, including text that does not parse, several statements in
  one step, the dangerous function catalogue (``sql_catalog``) wherever it appears, and
  writes to system catalogs. EXPLAIN ANALYZE runs its statement, so it is judged as it.

A pure function of the text, so workflow code may call it (replay decides the same).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Literal

from pglast import ast, enums, parse_sql
from pglast.parser import ParseError, parse_sql_json

from durable_agents.rules import sql_catalog as catalog

PATCH = "sql-guard-parser-v1"  # workflow.patched id: decisions made with this guard
SqlEffect = Literal["read", "write", "blocked"]
Judgement = tuple[SqlEffect, str]
_RANK: dict[SqlEffect, int] = {"read": 0, "write": 1, "blocked": 2}
MAX_SQL_CHARS = 100_000
MAX_REASONS = 3  # of a write, shown to the person who approves it
MAX_NESTING = 1000  # of the parse tree as JSON: ~500 expression levels, far beyond real SQL
_JSON_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[^\[\]{}]")

# Harmless anywhere: expressions, names, joins and clauses that run no code of their own
# (function calls, operators, casts and statements are judged separately below).
_INERT = catalog.words(
    """
    RawStmt String Integer Float Boolean BitString A_Const A_Star A_Indices A_Indirection
    TypeCast A_ArrayExpr Alias ColumnRef ParamRef ResTarget MultiAssignRef RangeVar RangeSubselect
    RangeFunction JoinExpr SortBy WindowDef GroupingSet GroupingFunc SubLink BoolExpr
    NullTest BooleanTest CaseExpr CaseWhen CoalesceExpr MinMaxExpr RowExpr SQLValueFunction
    CollateClause NamedArgExpr WithClause CommonTableExpr CTESearchClause CTECycleClause
    XmlExpr XmlSerialize RangeTableFunc RangeTableFuncCol JsonTable JsonTableColumn
    JsonTablePathSpec JsonAggConstructor JsonArgument JsonArrayAgg JsonArrayConstructor
    JsonArrayQueryConstructor JsonBehavior JsonFormat JsonFuncExpr JsonIsPredicate
    JsonKeyValue JsonObjectAgg JsonObjectConstructor JsonOutput JsonParseExpr
    JsonReturning JsonScalarExpr JsonSerializeExpr JsonValueExpr MergeSupportFunc
    SetToDefault ReturningClause ReturningOption OnConflictClause InferClause IndexElem
    MergeWhenClause DefElem ColumnDef Constraint TableLikeClause PartitionSpec
    PartitionElem PartitionBoundSpec PartitionRangeDatum IntoClause AlterTableCmd
    """
)
_WRITES = {
    "CreateStmt": "CREATE TABLE",
    "ViewStmt": "CREATE VIEW",
    "IndexStmt": "CREATE INDEX",
    "CreateTableAsStmt": "CREATE TABLE/MATERIALIZED VIEW AS",
}
_BLOCKED_REASONS = {
    "DoStmt": "DO runs procedural code; never allowed",
    "CallStmt": "CALL runs a procedure; never allowed",
    "DropStmt": "DROP destroys objects; never allowed",
    "TruncateStmt": "TRUNCATE empties tables; never allowed",
    "VariableSetStmt": "SET/RESET changes the session (role, search_path); never allowed",
    "TransactionStmt": "transaction control is the activity's job; never allowed",
    "AlterSystemStmt": "ALTER SYSTEM rewrites the server configuration; never allowed",
    "CreateFunctionStmt": "CREATE FUNCTION/PROCEDURE defines code; never allowed",
    "GrantStmt": "GRANT/REVOKE changes privileges; never allowed",
    "GrantRoleStmt": "GRANT/REVOKE changes role membership; never allowed",
    "VacuumStmt": "VACUUM/ANALYZE is maintenance; never allowed",
    "RenameStmt": "ALTER ... RENAME breaks what uses the old name; never allowed",
}
_STATEMENT_NAMES = {
    "CheckPointStmt": "CHECKPOINT",
    "SecLabelStmt": "SECURITY LABEL",
    "CreatePLangStmt": "CREATE LANGUAGE",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
    "DeclareCursorStmt": "DECLARE CURSOR",
    "ClosePortalStmt": "CLOSE",
    "RuleStmt": "CREATE RULE",
    "CreateTrigStmt": "CREATE TRIGGER",
    "DefineStmt": "CREATE AGGREGATE/OPERATOR/TYPE",
    "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
}
_COPY_PROGRAM = "COPY ... PROGRAM runs a shell command; never allowed"
_COPY = "COPY reads or writes server files or the connection's stream; never allowed"
_ALTER_TABLE_OK = frozenset(
    {
        enums.AlterTableType.AT_AddColumn,
        enums.AlterTableType.AT_ColumnDefault,
        enums.AlterTableType.AT_AddConstraint,
    }
)


def sql_effect(sql: str) -> Judgement:
    """The strongest effect of ``sql`` and why: ``read``, ``write`` or ``blocked``."""
    problem = _unparsable(sql)
    if problem:
        return "blocked", problem
    statements = parse_sql(sql)
    if not statements:
        return "blocked", "no SQL statement found"
    found: Judgement = ("read", "only reads")
    for statement in statements:
        judged = _judge_tree(statement)
        if _RANK[judged[0]] > _RANK[found[0]]:
            found = judged
        if found[0] == "blocked":
            return found
    if len(statements) > 1:
        return "blocked", "several statements in one step; send one statement per sql_query"
    return found


def _unparsable(sql: str) -> str | None:
    """Why ``sql`` is refused before its tree is built, or None.

    The C parser stops at a NUL (the server might not), and building the Python tree of a
    very deep expression (``1+1+...``) recurses in C and can overflow a thread's stack; the
    JSON parse checks the stack depth itself, and its nesting bounds the tree's depth.
    """
    if len(sql) > MAX_SQL_CHARS:
        return f"the SQL text is longer than {MAX_SQL_CHARS} characters"
    if "\x00" in sql:
        return "the SQL text contains a NUL character"
    try:
        sql.encode()
        tree = parse_sql_json(sql)
    except (ParseError, UnicodeError) as exc:
        return f"cannot be parsed as PostgreSQL: {exc}"
    depth = 0
    for bracket in _BRACKETS.sub("", _JSON_STRINGS.sub("", tree)):
        depth += 1 if bracket in "[{" else -1
        if depth > MAX_NESTING:
            return f"the SQL is nested more than {MAX_NESTING} levels deep"
    return None


def _judge_tree(root: ast.Node) -> Judgement:
    """The first reason to block, else every reason to ask (a person sees them all)."""
    writes: list[str] = []
    for node in _nodes(root):
        judged = _judge_node(node)
        if judged is None:
            continue
        effect, why = judged
        if effect == "blocked":
            return judged
        if why not in writes:
            writes.append(why)
    if writes:
        return "write", "; ".join(writes[:MAX_REASONS])
    return "read", "only reads"


def _nodes(root: ast.Node) -> Iterator[ast.Node]:
    """Every node under ``root``, depth first, without recursion (trees can be deep)."""
    stack: list[object] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            stack.extend(reversed([getattr(item, name) for name in item]))
        elif isinstance(item, tuple | list):
            stack.extend(reversed(item))


def _names(items: tuple[object, ...] | None) -> list[str]:
    return [item.sval or "" for item in items or () if isinstance(item, ast.String)]


def _judge_node(node: ast.Node) -> Judgement | None:
    kind = type(node).__name__
    if isinstance(node, ast.FuncCall):
        return _function(_names(node.funcname))
    if isinstance(node, ast.A_Expr):
        return _operator(_names(node.name))
    if isinstance(node, ast.SubLink) and node.operName:
        return _operator(_names(node.operName))
    if isinstance(node, ast.SortBy) and node.useOp:
        return _operator(_names(node.useOp))
    if isinstance(node, ast.TypeName):
        return _type(_names(node.names))
    if isinstance(node, ast.RangeVar):
        return _relation(node)
    if isinstance(node, ast.RangeTableSample):
        method = _names(node.method)
        if catalog.built_in(method, catalog.TABLESAMPLE_METHODS):
            return None
        return "write", f"TABLESAMPLE {'.'.join(method)} is not a built-in method"
    if isinstance(node, ast.SelectStmt):
        if node.intoClause is not None:
            return "write", "SELECT ... INTO creates a table"
        if node.lockingClause:
            return "write", "SELECT ... FOR UPDATE/SHARE locks rows"
        return None
    if isinstance(node, ast.UpdateStmt | ast.DeleteStmt):
        return _bounded(node)
    if isinstance(node, ast.MergeStmt):
        return _merge(node)
    if isinstance(node, ast.AlterTableStmt):
        return _alter_table(node)
    if isinstance(node, ast.CopyStmt):
        return "blocked", _COPY_PROGRAM if node.is_program else _COPY
    if isinstance(node, ast.VariableShowStmt):
        if (node.name or "").lower() in catalog.SETTINGS:
            return None
        return "write", f"SHOW {node.name} is not a harmless setting"
    if isinstance(node, ast.InsertStmt):
        return _target(node.relation) or ("write", "INSERT changes data")
    if kind in _WRITES:
        return "write", f"{_WRITES[kind]} changes the database"
    if kind in _INERT or isinstance(node, ast.ExplainStmt | ast.LockingClause):
        return None  # EXPLAIN is judged by the statement it explains
    return "blocked", _BLOCKED_REASONS.get(kind) or f"{_statement_name(kind)} is not allowed"


def _statement_name(kind: str) -> str:
    if kind in _STATEMENT_NAMES:
        return _STATEMENT_NAMES[kind]
    words = re.findall(r"[A-Z][a-z]*", kind.removesuffix("Stmt")) or [kind]
    return " ".join(words).upper()


def _function(names: list[str]) -> Judgement | None:
    shown = ".".join(names)
    if names and catalog.denied_function(names):
        return "blocked", f"function {shown} is not allowed"
    if catalog.built_in(names, catalog.ALLOWED_FUNCTIONS):
        return None
    return "write", f"function {shown} is not a known side-effect-free built-in"


def _operator(names: list[str]) -> Judgement | None:
    if catalog.built_in(names, catalog.OPERATORS):
        return None
    return "write", f"operator {'.'.join(names)} is not a known built-in"


def _type(names: list[str]) -> Judgement | None:
    if catalog.built_in(names, catalog.TYPES):
        return None
    return "write", f"type {'.'.join(names)} is not a known built-in type"


def _relation(node: ast.RangeVar) -> Judgement | None:
    name = (node.relname or "").lower()
    if name in catalog.DENIED_RELATIONS:
        return "blocked", f"relation {name} holds secrets or server files; not allowed"
    return None


def _target(relation: ast.RangeVar | None) -> Judgement | None:
    """Writes to system catalogs (``UPDATE pg_settings`` runs set_config) are blocked."""
    if relation is None:
        return None
    schema, name = (relation.schemaname or "").lower(), (relation.relname or "").lower()
    if schema in catalog.SYSTEM_SCHEMAS or (not schema and name.startswith("pg_")):
        return "blocked", f"writing to system catalog {name} is not allowed"
    return None


def _bounded(node: ast.UpdateStmt | ast.DeleteStmt) -> Judgement:
    verb = "UPDATE" if isinstance(node, ast.UpdateStmt) else "DELETE"
    target = _target(node.relation)
    if target:
        return target
    where = node.whereClause
    if where is None or not any(isinstance(n, ast.ColumnRef) for n in _nodes(where)):
        return "blocked", f"{verb} without a WHERE on a column changes every row; not allowed"
    return "write", f"{verb} changes data"


def _merge(node: ast.MergeStmt) -> Judgement:
    target = _target(node.relation)
    if target:
        return target
    for clause in node.mergeWhenClauses or ():
        if (
            isinstance(clause, ast.MergeWhenClause)
            and clause.commandType == enums.CmdType.CMD_DELETE
        ):
            return "blocked", "MERGE ... THEN DELETE deletes rows; not allowed"
    return "write", "MERGE changes data"


def _alter_table(node: ast.AlterTableStmt) -> Judgement:
    if node.objtype != enums.ObjectType.OBJECT_TABLE:
        return "blocked", "ALTER of anything but a table is not allowed"
    target = _target(node.relation)
    if target:
        return target
    for command in node.cmds or ():
        if isinstance(command, ast.AlterTableCmd) and command.subtype not in _ALTER_TABLE_OK:
            action = getattr(command.subtype, "name", str(command.subtype)).removeprefix("AT_")
            return "blocked", f"ALTER TABLE {action} is not allowed (only ADD and SET DEFAULT)"
    return "write", "ALTER TABLE changes a table"
