// EventStore: see docs/ARCHITECTURE.md
