// The built-in rule sets, shipped with the binary as rule-set files (docs/RULE-SETS.md): the
// same text `stratos-ledger rules show NAME --format json` prints. A new built-in set is a new
// constant here and an entry in `RuleSet.all`, never a change to an existing one (its sha256
// names every build made with it; RuleTests pins them to docs/RULES.md).

extension RuleSet {
    /// RULES §1–§9.
    static let paperV1JSON = """
        {
          "changes": [],
          "name": "paper-v1",
          "parameters": {
            "coolingOffDays": 14,
            "depositLockDays": 180,
            "limitGrowthDeposit": "genesis",
            "lockupEpochs": 2016,
            "settledShareBp": 8000,
            "tiers": [
              {"metaBp":2000,"minedBelowWei":"16819200000000000000000000","resourceBp":6000,"rewardWei":"80000000000000000000","stakeBp":2000},
              {"metaBp":1800,"minedBelowWei":"25228800000000000000000000","resourceBp":6200,"rewardWei":"40000000000000000000","stakeBp":2000},
              {"metaBp":1600,"minedBelowWei":"29433600000000000000000000","resourceBp":6400,"rewardWei":"20000000000000000000","stakeBp":2000},
              {"metaBp":1400,"minedBelowWei":"31536000000000000000000000","resourceBp":6600,"rewardWei":"10000000000000000000","stakeBp":2000},
              {"metaBp":1200,"minedBelowWei":"32587200000000000000000000","resourceBp":6800,"rewardWei":"5000000000000000000","stakeBp":2000},
              {"metaBp":1000,"minedBelowWei":"39000000000000000000000000","resourceBp":7000,"rewardWei":"2500000000000000000","stakeBp":2000}
            ],
            "unbondingDays": 21
          }
        }
        """

    /// RULES §10: as paper-v1, `s` the effective total deposit.
    static let paperV1EffectiveSJSON = """
        {
          "changes": [],
          "name": "paper-v1-effective-s",
          "parameters": {
            "coolingOffDays": 14,
            "depositLockDays": 180,
            "limitGrowthDeposit": "effective",
            "lockupEpochs": 2016,
            "settledShareBp": 8000,
            "tiers": [
              {"metaBp":2000,"minedBelowWei":"16819200000000000000000000","resourceBp":6000,"rewardWei":"80000000000000000000","stakeBp":2000},
              {"metaBp":1800,"minedBelowWei":"25228800000000000000000000","resourceBp":6200,"rewardWei":"40000000000000000000","stakeBp":2000},
              {"metaBp":1600,"minedBelowWei":"29433600000000000000000000","resourceBp":6400,"rewardWei":"20000000000000000000","stakeBp":2000},
              {"metaBp":1400,"minedBelowWei":"31536000000000000000000000","resourceBp":6600,"rewardWei":"10000000000000000000","stakeBp":2000},
              {"metaBp":1200,"minedBelowWei":"32587200000000000000000000","resourceBp":6800,"rewardWei":"5000000000000000000","stakeBp":2000},
              {"metaBp":1000,"minedBelowWei":"39000000000000000000000000","resourceBp":7000,"rewardWei":"2500000000000000000","stakeBp":2000}
            ],
            "unbondingDays": 21
          }
        }
        """
}
