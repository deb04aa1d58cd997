"""The domain's repositories in SQL that SQLite and PostgreSQL both run (through `app.storage.sql.Sql`)."""
