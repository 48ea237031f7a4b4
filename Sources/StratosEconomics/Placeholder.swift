// StratosEconomics: see docs/ARCHITECTURE.md
