extension Duration {
    /// The duration in seconds, for reports and logs (timings only: never money).
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
