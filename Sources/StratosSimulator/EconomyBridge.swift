import LedgerEvents
import StratosEconomics

// Where the simulator depends on the economics engine's API besides `Economy.apply(_:)`:
// which rule set it drives, and how it reads what a prepay bought.

/// The economy every simulated history is validated against: `paper-v1`, the rule set the
/// service imports under by default.
func makeSimulationEconomy() -> Economy {
    Economy(rules: .paperV1)
}

/// The Ozone (noz) an accepted `Prepaid` of `account` credited to it: its `ozone-purchased`
/// transfers. Read from the effects, so the simulator never re-implements the constant product.
func ozoneBought(by account: AccountID, in applied: AppliedEvent) -> UInt128 {
    var total: UInt128 = 0
    for transfer in applied.transfers where transfer.reason == .ozonePurchased && transfer.to == .ozone(account) {
        total += transfer.amount.baseUnits
    }
    return total
}
