/// SHA-256 (FIPS 180-4) in pure Swift, for the event log's hash chain.
///
/// Our own so that LedgerEvents needs no crypto library and hashes the same everywhere. Blocks
/// are read straight from the caller's buffer; only a partial block is copied.
public struct SHA256: Sendable {
    private var state: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) =
        (0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19)
    /// The pending partial block (64 bytes).
    private var pending: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
    private var pendingCount = 0
    private var totalBytes: UInt64 = 0

    public init() {}

    /// One-shot digest (32 bytes).
    public static func hash(_ bytes: some Collection<UInt8>) -> [UInt8] {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    public static func hash(_ text: String) -> [UInt8] { hash(text.utf8) }

    /// Lower-case hexadecimal of some bytes (e.g. a digest).
    public static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits: [UInt8] = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xF)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public mutating func update(_ bytes: some Collection<UInt8>) {
        let done: Void? = bytes.withContiguousStorageIfAvailable { update(buffer: $0) }
        if done == nil {
            let copy = Array(bytes)
            copy.withUnsafeBufferPointer { update(buffer: $0) }
        }
    }

    public mutating func update(buffer: UnsafeBufferPointer<UInt8>) {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return }
        totalBytes &+= UInt64(buffer.count)
        var offset = 0
        if pendingCount > 0 {
            let take = min(64 - pendingCount, buffer.count)
            withUnsafeMutableBytes(of: &pending) { p in
                UnsafeMutableRawBufferPointer(rebasing: p[pendingCount..<pendingCount + take])
                    .copyMemory(from: UnsafeRawBufferPointer(start: base, count: take))
            }
            pendingCount += take
            offset = take
            if pendingCount == 64 {
                var block = pending
                withUnsafeBytes(of: &block) { compress(UnsafeRawPointer($0.baseAddress!)) }
                pendingCount = 0
            }
        }
        while buffer.count - offset >= 64 {
            compress(UnsafeRawPointer(base + offset))
            offset += 64
        }
        let rest = buffer.count - offset
        if rest > 0 {
            withUnsafeMutableBytes(of: &pending) { p in
                UnsafeMutableRawBufferPointer(rebasing: p[0..<rest])
                    .copyMemory(from: UnsafeRawBufferPointer(start: base + offset, count: rest))
            }
            pendingCount = rest
        }
    }

    /// Pads, processes the last block(s) and returns the 32-byte digest.
    public mutating func finalize() -> [UInt8] {
        let bitLength = totalBytes &* 8
        var padding = [UInt8](repeating: 0, count: 72)
        padding[0] = 0x80
        let padCount = pendingCount < 56 ? 56 - pendingCount : 120 - pendingCount
        let savedTotal = totalBytes
        for i in 0..<8 { padding[padCount + i] = UInt8(truncatingIfNeeded: bitLength >> (56 - 8 * UInt64(i))) }
        padding.withUnsafeBufferPointer { update(buffer: UnsafeBufferPointer(rebasing: $0[0..<padCount + 8])) }
        precondition(pendingCount == 0, "SHA-256 padding must end on a block boundary")
        totalBytes = savedTotal
        var out = [UInt8](repeating: 0, count: 32)
        let words = [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7]
        for (i, w) in words.enumerated() {
            out[4 * i] = UInt8(truncatingIfNeeded: w >> 24)
            out[4 * i + 1] = UInt8(truncatingIfNeeded: w >> 16)
            out[4 * i + 2] = UInt8(truncatingIfNeeded: w >> 8)
            out[4 * i + 3] = UInt8(truncatingIfNeeded: w)
        }
        return out
    }

    private static let k: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    /// Processes one 64-byte block at `block`: the message schedule is expanded into a
    /// 64-word stack buffer, then the rounds run eight at a time with the working variables
    /// renamed instead of shifted.
    private mutating func compress(_ block: UnsafeRawPointer) {
        var schedule = (SIMD64<UInt32>())
        var (a, b, c, d, e, f, g, h) = state
        withUnsafeMutableBytes(of: &schedule) { raw in
            let w = raw.baseAddress!.assumingMemoryBound(to: UInt32.self)
            for i in 0..<16 {
                w[i] = UInt32(bigEndian: block.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self))
            }
            for i in 16..<64 {
                let w15 = w[i - 15]
                let w2 = w[i - 2]
                let s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3)
                let s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            Self.k.withUnsafeBufferPointer { kb in
                let k = kb.baseAddress!
                var i = 0
                while i < 64 {
                    sha256Round(a, b, c, &d, e, f, g, &h, k[i] &+ w[i])
                    sha256Round(h, a, b, &c, d, e, f, &g, k[i + 1] &+ w[i + 1])
                    sha256Round(g, h, a, &b, c, d, e, &f, k[i + 2] &+ w[i + 2])
                    sha256Round(f, g, h, &a, b, c, d, &e, k[i + 3] &+ w[i + 3])
                    sha256Round(e, f, g, &h, a, b, c, &d, k[i + 4] &+ w[i + 4])
                    sha256Round(d, e, f, &g, h, a, b, &c, k[i + 5] &+ w[i + 5])
                    sha256Round(c, d, e, &f, g, h, a, &b, k[i + 6] &+ w[i + 6])
                    sha256Round(b, c, d, &e, f, g, h, &a, k[i + 7] &+ w[i + 7])
                    i += 8
                }
            }
        }
        state = (
            state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d,
            state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h
        )
    }
}

/// One SHA-256 round; the caller renames the variables for the next one.
@inline(__always)
private func sha256Round(
    _ a: UInt32, _ b: UInt32, _ c: UInt32, _ d: inout UInt32,
    _ e: UInt32, _ f: UInt32, _ g: UInt32, _ h: inout UInt32, _ kw: UInt32
) {
    let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ kw
    let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
    d = d &+ t1
    h = t1 &+ t2
}

@inline(__always)
private func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 &- n)) }
