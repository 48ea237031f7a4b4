import Logging

/// The service's log handler: the one the logging system makes (a `StreamLogHandler` unless
/// the program bootstrapped another), with the metadata kept as it is set and handed over only
/// with a message that is logged.
///
/// Why: Hummingbird gives every request a logger of its own with an `hb.request.id` metadata
/// item, and `StreamLogHandler` renders all of its metadata into text whenever metadata is set
/// — the request id's description included — for every request, though the service logs
/// nothing per request at its level. A profile of single-event appends put that at about 2 %
/// of the service's CPU per request (docs/EVENT-STORE.md).
struct DeferredMetadataLogHandler: LogHandler {
    private var base: any LogHandler
    var metadata: Logger.Metadata = [:]

    init(_ base: any LogHandler) { self.base = base }

    var logLevel: Logger.Level {
        get { base.logLevel }
        set { base.logLevel = newValue }
    }

    var metadataProvider: Logger.MetadataProvider? {
        get { base.metadataProvider }
        set { base.metadataProvider = newValue }
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var event = event
        if !metadata.isEmpty { event.metadata = metadata.merging(event.metadata ?? [:]) { $1 } }
        base.log(event: event)
    }
}
