"""Pure rules shared by workflow code and activities: the policy's judgement, HTTP egress,
SQL classification, protected paths. No I/O, no clocks: workflows replay them, activities
re-check with them at the moment of the side effect."""
