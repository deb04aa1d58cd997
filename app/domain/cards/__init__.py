"""The physical social security card lifecycle (SPEC §2 "Physical card", §4 "Physical cards").

`lifecycle` holds the state machine table, `activation`, `pin`, `agents`, `replacement` and `sweep`
the rules, `service` the transitions with their audit entries and the e-card rule.
"""
