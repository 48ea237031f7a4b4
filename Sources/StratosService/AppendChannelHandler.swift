import EventStore
import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTPTypes

#if canImport(Glibc)
    import Glibc
#endif

/// `POST /v1/events` answered on the connection's event loop, beside Hummingbird's router.
///
/// Why: a single-event append spent most of its service CPU outside the append itself. Through
/// the router a request crosses four threads (event loop → request task → writer → request
/// task → event loop), each hand-off a wake-up and a context switch, and pays for the request
/// task, the body's async iteration and the middleware chain (docs/EVENT-STORE.md, "Where a
/// single-event append's time goes"). Here the event loop collects the body, parses it and
/// hands the batch to the writer (`Appender.submit`), whose answer comes straight back to the
/// event loop: two hand-offs.
///
/// It answers only what it can answer exactly as the route would: `POST /v1/events` with the
/// write token, a supported `Content-Type`, no `Expect` and no `Connection: close`, and a body
/// within the limit as far as the head tells. Everything else — and every request while a
/// response of Hummingbird's is still owed, so that pipelined requests are answered in order —
/// goes on to Hummingbird unchanged, where the route (`appendEvents`) and the middleware give
/// the same answers and errors. While an append of its own is under way it holds the parts read
/// after it and stops reading, so a pipelining client cannot make it buffer without bound.
///
/// It sits after Hummingbird's `HTTPConnectionStateHandler`, which therefore sees these
/// requests and their responses too: the idle timeout and a graceful shutdown's "close once the
/// response is written" work for them as for any other.
final class AppendChannelHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum State {
        /// No request of this handler's: parts go on to Hummingbird.
        case passing
        /// Reading the body of an append.
        case collecting(EventBatch.Format, started: ContinuousClock.Instant, body: ByteBuffer, tooLarge: Bool)
        /// The writer has the batch; parts read meanwhile are held.
        case appending
    }

    private let endpoint: AppendEndpoint
    private var state = State.passing
    /// Requests passed on to Hummingbird whose response has not been written whole.
    private var responsesOwed = 0
    /// Parts read while an append was under way, handled once it is answered.
    private var held = CircularBuffer<HTTPRequestPart>()
    /// A read asked for while parts were held: done once they are handled.
    private var readDeferred = false
    private var active = true
    private var date = HTTPDate()

    init(endpoint: AppendEndpoint) {
        self.endpoint = endpoint
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if case .appending = state {
            held.append(part)
        } else {
            handle(part, context: context)
        }
    }

    private func handle(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (state, part) {
        case (.passing, .head(let head)):
            if responsesOwed == 0, let format = endpoint.takes(head) {
                let length = head.headerFields[.contentLength].flatMap(Int.init) ?? 512
                state = .collecting(format, started: .now, body: context.channel.allocator.buffer(capacity: length), tooLarge: false)
            } else {
                responsesOwed += 1
                context.fireChannelRead(wrapInboundOut(part))
            }
        case (.collecting(let format, let started, var body, var tooLarge), .body(var chunk)):
            state = .passing // `body` is uniquely referenced while it grows
            if tooLarge || body.readableBytes + chunk.readableBytes > endpoint.maxBodyBytes {
                // A chunked body has no Content-Length to refuse up front: it is refused once
                // it has grown past the limit, and the rest is read and dropped.
                tooLarge = true
                body.clear()
            } else {
                body.writeBuffer(&chunk)
            }
            state = .collecting(format, started: started, body: body, tooLarge: tooLarge)
        case (.collecting(let format, let started, let body, let tooLarge), .end):
            state = .appending
            if tooLarge {
                answer(.failure(Problem.tooLarge(limit: endpoint.maxBodyBytes)), byWriter: false, started: started, context: context)
            } else {
                append(body, format: format, started: started, context: context)
            }
        case (.collecting, .head):
            // The decoder never sends a head before the end of the request before it.
            preconditionFailure("HTTP request head while the body of an append was being read")
        case (.passing, _):
            context.fireChannelRead(wrapInboundOut(part))
        case (.appending, _):
            held.append(part)
        }
    }

    private func append(_ body: ByteBuffer, format: EventBatch.Format, started: ContinuousClock.Instant, context: ChannelHandlerContext) {
        let batch: EventBatch
        do {
            batch = try EventBatch.parse(Array(body.readableBytesView), format: format)
        } catch {
            answer(.failure(error), byWriter: false, started: started, context: context)
            return
        }
        let eventLoop = context.eventLoop
        let bound = NIOLoopBound((handler: self, context: context), eventLoop: eventLoop)
        endpoint.appender.submit(batch, metadata: AppendMetadata(appendedBy: "stratos-ledger serve")) { result in
            eventLoop.execute {
                let (handler, context) = bound.value
                handler.answer(result, byWriter: true, started: started, context: context)
            }
        }
    }

    /// Writes the answer of the append under way, then handles what was read meanwhile.
    private func answer(
        _ result: Result<AppendOutcome, Problem>, byWriter: Bool, started: ContinuousClock.Instant, context: ChannelHandlerContext
    ) {
        let response = endpoint.response(result, byWriter: byWriter, started: started)
        if active {
            var fields = response.fields
            fields[.date] = date.now()
            fields[.server] = "stratos-ledger"
            fields[.contentLength] = String(response.body.readableBytes)
            context.write(
                wrapOutboundOut(.head(HTTPResponse(status: HTTPResponse.Status(code: response.status), headerFields: fields))), promise: nil)
            context.write(wrapOutboundOut(.body(response.body)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
        state = .passing
        let replayed = !held.isEmpty
        while case .passing = state, let part = held.popFirst() {
            handle(part, context: context)
        }
        // Outside a read, what was passed on reaches Hummingbird's request stream only with a
        // read-complete (NIOAsyncChannel delivers its buffered reads then).
        if replayed { context.fireChannelReadComplete() }
        if case .passing = state, readDeferred {
            readDeferred = false
            context.read()
        }
    }

    func read(context: ChannelHandlerContext) {
        if case .appending = state {
            readDeferred = true
        } else {
            context.read()
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only Hummingbird's responses come through here: this handler writes its own from its
        // context, past itself.
        if case .end = unwrapOutboundIn(data) { responsesOwed = max(0, responsesOwed - 1) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        active = false
        context.fireChannelInactive()
    }
}

/// What `AppendChannelHandler` needs of the server: the writer, the write token, the body
/// limit, and how the route answers.
struct AppendEndpoint: Sendable {
    let appender: Appender
    let metrics: ServiceMetrics
    let auth: BearerAuthMiddleware
    let maxBodyBytes: Int
    let logger: Logger

    /// The body format when `head` is an append the event loop answers itself (see
    /// `AppendChannelHandler`); nil to leave it to the router.
    func takes(_ head: HTTPRequest) -> EventBatch.Format? {
        guard head.method == .post, head.path == "/v1/events" else { return nil }
        let fields = head.headerFields
        guard fields[.expect] == nil, !(fields[.connection].map(Self.saysClose) ?? false) else { return nil }
        if let length = fields[.contentLength] {
            guard let bytes = Int(length), bytes <= maxBodyBytes else { return nil }
        }
        guard (try? auth.authorize(fields)) != nil else { return nil }
        return try? StratosServer.appendFormat(contentType: fields[.contentType])
    }

    static func saysClose(_ value: String) -> Bool {
        value.split(separator: ",").contains { trimmedBlanks($0).utf8.elementsEqual("close".utf8, by: asciiCaseInsensitive) }
    }

    /// The response the route gives for `result` (`byWriter`: the writer decided it; else the
    /// body was refused before), recorded in the metrics as the route and the router's
    /// middleware record theirs.
    func response(
        _ result: Result<AppendOutcome, Problem>, byWriter: Bool, started: ContinuousClock.Instant
    ) -> (status: Int, fields: HTTPFields, body: ByteBuffer) {
        let answer: (status: Int, fields: HTTPFields, body: ByteBuffer)
        switch result {
        case .success(let outcome):
            metrics.recordAppend(appended: outcome.appended, duplicates: outcome.duplicates)
            answer = (outcome.appended > 0 ? 201 : 200, [.contentType: "application/json"], ByteBuffer(bytes: outcome.canonicalUTF8))
        case .failure(let problem):
            if byWriter { metrics.recordRefusedBatch() }
            if problem.statusCode >= 500 && problem.statusCode != 503 { logger.error("POST /v1/events: \(problem)") }
            answer = (problem.statusCode, problem.headerFields, ByteBuffer(string: problem.json.canonicalText))
        }
        metrics.recordRequest(route: "/v1/events", method: "POST", status: answer.status, seconds: (ContinuousClock.now - started).inSeconds)
        return answer
    }
}

/// Hummingbird's HTTP/1.1 child channel with an `AppendChannelHandler` after its connection
/// state handler.
struct AppendingHTTP1Channel: ServerChildChannel {
    let base: HTTP1Channel
    let endpoint: AppendEndpoint

    /// Never fails once the base has built its `NIOAsyncChannel`: a value dropped unhandled
    /// would end the process (NIO requires its writer to be finished, which `handle` does). If
    /// the handler cannot be added (a channel closed meanwhile), the connection goes on through
    /// Hummingbird alone.
    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<HTTP1Channel.Value> {
        base.setup(channel: channel, logger: logger).map { [endpoint] value in
            let pipeline = channel.pipeline.syncOperations
            do {
                let connectionState = try pipeline.handler(type: HTTPConnectionStateHandler.self)
                try pipeline.addHandler(AppendChannelHandler(endpoint: endpoint), position: .after(connectionState))
            } catch {
                logger.debug("append fast path not added to a connection: \(error)")
            }
            return value
        }
    }

    func handle(value: HTTP1Channel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// The `Date` header (RFC 9110 IMF-fixdate), formatted once per second.
struct HTTPDate {
    private var second = 0
    private var text = ""

    mutating func now() -> String {
        let t = time(nil)
        if t != second || text.isEmpty {
            second = t
            var parts = tm()
            var seconds = t
            gmtime_r(&seconds, &parts)
            var buffer = [CChar](repeating: 0, count: 40)
            let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &parts)
            text = String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return text
    }
}
