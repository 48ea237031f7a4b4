// StratosService: see docs/ARCHITECTURE.md
