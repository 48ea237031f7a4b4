// PostgresClient: see docs/ARCHITECTURE.md
