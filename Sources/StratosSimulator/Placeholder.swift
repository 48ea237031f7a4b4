// StratosSimulator: see docs/ARCHITECTURE.md
