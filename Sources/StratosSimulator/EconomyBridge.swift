import LedgerEvents
import StratosEconomics

// The only two places the simulator depends on the economics engine's API besides
// `Economy.apply(_:)`: which rule set it drives, and how it reads a user's Ozone.

/// The economy every simulated history is validated against: `paper-v1`, the rule set the
/// service imports under by default.
func makeSimulationEconomy() -> Economy {
    Economy(rules: .paperV1)
}

/// The Ozone `account` holds now, in noz.
func ozoneHeld(by account: AccountID, in economy: Economy) -> UInt128 {
    economy.ozone(of: account).rawValue
}
