/// The simulator's only source of randomness: xoshiro256** (Blackman & Vigna, 2018) seeded
/// through SplitMix64, both fixed here rather than borrowed from the standard library, because
/// "same seed ⇒ same bytes" must hold on every platform and Swift release. Nothing here uses
/// floating point: every draw is an integer, so amounts built from draws are exact and the
/// sequence cannot depend on how a CPU rounds.

/// SplitMix64 (Steele, Lea & Flood, 2014). Used only to expand a 64-bit seed into the 256-bit
/// state of `Xoshiro256StarStar`, as its authors recommend (a state of all zeros is impossible).
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// xoshiro256** 1.0: fast, 256-bit state, passes BigCrush. Conforms to
/// `RandomNumberGenerator` so it can drive `shuffle(using:)`, but the simulator draws through
/// the methods below, whose algorithms are fixed here (the standard library's may change).
public struct Xoshiro256StarStar: RandomNumberGenerator, Sendable {
    private var s0, s1, s2, s3: UInt64

    public init(seed: UInt64) {
        var mix = SplitMix64(seed: seed)
        s0 = mix.next()
        s1 = mix.next()
        s2 = mix.next()
        s3 = mix.next()
    }

    @inline(__always)
    private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    @inline(__always)
    public mutating func next() -> UInt64 {
        let result = Self.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = Self.rotl(s3, 45)
        return result
    }

    /// Uniform in `0..<bound` (bound > 0), unbiased: Lemire's multiply-and-reject method.
    @inline(__always)
    public mutating func below(_ bound: UInt64) -> UInt64 {
        precondition(bound > 0, "below(0)")
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return m.high
    }

    /// Uniform in `0..<bound` for an `Int` bound > 0.
    @inline(__always)
    public mutating func index(_ bound: Int) -> Int { Int(below(UInt64(bound))) }

    /// Uniform in the closed range.
    @inline(__always)
    public mutating func inRange(_ range: ClosedRange<UInt64>) -> UInt64 {
        range.lowerBound + below(range.upperBound - range.lowerBound + 1)
    }

    @inline(__always)
    public mutating func inRange(_ range: ClosedRange<Int>) -> Int {
        range.lowerBound + index(range.upperBound - range.lowerBound + 1)
    }

    /// True with probability `perMille / 1000`.
    @inline(__always)
    public mutating func chance(perMille: UInt64) -> Bool { below(1000) < perMille }

    /// Uniform 128-bit value in `0..<bound` (bound > 0), by rejection on the smallest
    /// enclosing power of two, so it is unbiased for any bound.
    public mutating func below128(_ bound: UInt128) -> UInt128 {
        precondition(bound > 0, "below(0)")
        if bound <= UInt128(UInt64.max) { return UInt128(below(UInt64(bound))) }
        let bits = 128 - (bound - 1).leadingZeroBitCount
        let mask: UInt128 = bits == 128 ? ~0 : (UInt128(1) << bits) - 1
        while true {
            let v = ((UInt128(next()) << 64) | UInt128(next())) & mask
            if v < bound { return v }
        }
    }

    /// A discrete Pareto draw with tail index 1: the octave `k` above `minimum` is chosen with
    /// probability 2^-(k+1) (k < octaves; the leftover mass goes to the top octave), then a
    /// uniform value inside `[minimum·2^k, minimum·2^(k+1))`. So P(X ≥ minimum·2^k) ≈ 2^-k:
    /// most draws are small, a few are orders of magnitude larger — the shape of real traffic.
    public mutating func heavyTail(minimum: UInt64, octaves: Int) -> UInt64 {
        precondition(minimum > 0 && octaves >= 1 && octaves < 40)
        let k = min(next().trailingZeroBitCount, octaves - 1)
        let low = minimum << UInt64(k)
        return low + below(low)
    }
}

/// Picks an index with probability proportional to an integer weight: cumulative sums and a
/// binary search (O(log n) per draw). Built once per set of candidates; rebuilt when it changes.
public struct WeightedPicker: Sendable {
    private var cumulative: [UInt64] = []
    public private(set) var items: [Int] = []

    public init() {}

    /// `weighted`: (item, weight > 0) pairs in a fixed order (the order is part of determinism).
    public init(_ weighted: [(item: Int, weight: UInt64)]) {
        var total: UInt64 = 0
        cumulative.reserveCapacity(weighted.count)
        items.reserveCapacity(weighted.count)
        for (item, weight) in weighted where weight > 0 {
            total += weight
            cumulative.append(total)
            items.append(item)
        }
    }

    public var isEmpty: Bool { items.isEmpty }

    public func pick(_ rng: inout Xoshiro256StarStar) -> Int {
        precondition(!items.isEmpty, "pick from an empty set")
        let target = rng.below(cumulative[cumulative.count - 1])
        var lo = 0
        var hi = cumulative.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cumulative[mid] > target { hi = mid } else { lo = mid + 1 }
        }
        return items[lo]
    }
}

/// Zipf-like integer weights: the i-th (from 0) gets `scale / (i + 1)`, so the first user or
/// node is twice as busy as the second and a hundred times the hundredth.
func zipfWeight(rank: Int, scale: UInt64 = 1 << 32) -> UInt64 { max(1, scale / UInt64(rank + 1)) }
