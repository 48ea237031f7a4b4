/// Money on the page: exact, by integer division, never through floating point.
///
/// The text shows STOS with all 18 decimals and OZ with all 9 (the integer part grouped by
/// thousands); the element carries the exact base-unit integer as `data-wei` / `data-noz`, which
/// tests and tools read instead of parsing the text.
public enum Amounts {
    /// `value / 10^decimals` with exactly `decimals` digits after the point, the integer part
    /// grouped by thousands with commas.
    public static func decimal(_ value: UInt128, decimals: Int) -> String {
        var scale: UInt128 = 1
        for _ in 0..<decimals { scale *= 10 }
        let whole = grouped(String(value / scale))
        guard decimals > 0 else { return whole }
        let fraction = String(value % scale)
        return whole + "." + String(repeating: "0", count: decimals - fraction.count) + fraction
    }

    /// Digits grouped by three from the right: `1234567` → `1,234,567`.
    public static func grouped(_ digits: String) -> String {
        var out: [Character] = []
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return String(out.reversed())
    }

    /// `1,234.000000000000000001 STOS` for 1234 STOS and 1 wei.
    public static func stosText(_ wei: UInt128) -> String { decimal(wei, decimals: 18) + " STOS" }
    /// `12.000000001 OZ` for 12 OZ and 1 noz.
    public static func ozText(_ noz: UInt128) -> String { decimal(noz, decimals: 9) + " OZ" }

    /// A STOS amount as an element carrying its exact wei.
    public static func wei(_ wei: UInt128) -> String {
        "<span class=\"amt\" data-wei=\"\(wei)\">\(stosText(wei))</span>"
    }
    /// An Ozone amount as an element carrying its exact noz.
    public static func noz(_ noz: UInt128) -> String {
        "<span class=\"amt\" data-noz=\"\(noz)\">\(ozText(noz))</span>"
    }
    /// A signed STOS amount (what one build has more or less than another) as an element
    /// carrying its exact signed wei: `data-wei="-1"` and `-0.000000000000000001 STOS`; a
    /// positive one is written with `+`, zero with no sign.
    public static func signedWei(_ magnitude: UInt128, negative: Bool) -> String {
        let sign = magnitude == 0 ? "" : negative ? "-" : "+"
        return "<span class=\"amt\" data-wei=\"\(sign == "-" ? "-" : "")\(magnitude)\">\(sign)\(stosText(magnitude))</span>"
    }
    /// A signed Ozone amount, as `signedWei` (`data-noz="-1"`).
    public static func signedNoz(_ magnitude: UInt128, negative: Bool) -> String {
        let sign = magnitude == 0 ? "" : negative ? "-" : "+"
        return "<span class=\"amt\" data-noz=\"\(sign == "-" ? "-" : "")\(magnitude)\">\(sign)\(ozText(magnitude))</span>"
    }
    /// A count (events, positions) grouped for reading.
    public static func count(_ n: some BinaryInteger) -> String {
        n < 0 ? "-" + grouped(String(n.magnitude)) : grouped(String(n))
    }
}
