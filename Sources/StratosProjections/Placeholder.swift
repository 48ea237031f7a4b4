// StratosProjections: see docs/ARCHITECTURE.md
