"""SQL text for the few statements DuckDB takes no parameters in (ATTACH, COMMENT, COPY, DDL
defaults, read_csv options)."""


def sql_literal(text: str) -> str:
    """`text` as a SQL string literal (DuckDB does not treat backslashes in literals specially)."""
    return "'" + text.replace("'", "''") + "'"
