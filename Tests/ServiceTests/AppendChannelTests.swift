import EventStore
import LedgerEvents
import LoopbackHTTP
import PostgresClient
import XCTest

@testable import StratosService

/// `POST /v1/events` answered on the event loop (`AppendChannelHandler`) gives what the router
/// gives, keeps pipelined responses in order, and leaves to the router what it must.
final class AppendChannelTests: XCTestCase {
    /// Each body, sent as the event loop answers it and with `Connection: close` (which leaves
    /// it to the router), gets the same status, headers and problem.
    func testTheEventLoopAnswersAsTheRouterDoes() throws {
        let h = try ServiceHarness(maxBodyBytes: 4096)
        defer { h.stop() }
        let (events, _) = try ServiceTests.history(epochs: 2)
        XCTAssertEqual(try h.post(Array(events.prefix(10))).status, 201)
        let time = events[9].time.rfc3339
        let bodies: [(name: String, body: String, status: Int)] = [
            ("malformed JSON", "[{", 400),
            ("not an array", "{}", 400),
            ("empty", "[]", 400),
            ("an invalid event", #"[{"id":"x","type":"Funded","time":"\#(time)","data":{"account":"st1x"}}]"#, 400),
            ("a rule violation", #"[{"id":"w","type":"Withdrawn","time":"\#(time)","data":{"account":"st1late","amount":"9"}}]"#, 422),
            (
                "an id used with other content",
                #"[{"id":"\#(events[5].id.rawValue)","type":"Funded","time":"\#(time)","data":{"account":"st1x","amount":"1"}}]"#, 409
            ),
            ("too large", "[" + String(repeating: " ", count: 5000) + "]", 413),
        ]
        for (name, body, status) in bodies {
            let fast = try h.postRaw(Array(body.utf8), contentType: "application/json")
            let routed = try h.postRaw(Array(body.utf8), contentType: "application/json", headers: h.auth + [("Connection", "close")])
            XCTAssertEqual(fast.status, status, "\(name): \(fast.text)")
            XCTAssertEqual(routed.status, status, "\(name): \(routed.text)")
            XCTAssertEqual(fast.text, routed.text, name)
            for header in ["content-type", "retry-after", "server"] {
                XCTAssertEqual(fast.headers[header], routed.headers[header], "\(name): \(header)")
            }
            XCTAssertNotNil(fast.headers["date"], name)
        }
        // A new event and its repeat: 201 then 200 with the same position, either way.
        let new = #"[{"id":"both-ways","type":"Funded","time":"\#(time)","data":{"account":"st1x","amount":"1"}}]"#
        let first = try h.postRaw(Array(new.utf8), contentType: "application/json")
        let again = try h.postRaw(Array(new.utf8), contentType: "application/json", headers: h.auth + [("Connection", "close")])
        XCTAssertEqual(first.status, 201, first.text)
        XCTAssertEqual(again.status, 200, again.text)
        XCTAssertEqual(try first.json["head"]?.int, try again.json["head"]?.int)
        XCTAssertEqual(try h.head(), 11)
        // Both paths are counted as one route.
        let metrics = try h.get("/metrics").text
        XCTAssertTrue(metrics.contains(#"stratos_http_requests_total{method="POST",route="/v1/events",status="422"} 2"#), metrics)
        XCTAssertTrue(metrics.contains(#"stratos_http_requests_total{method="POST",route="/v1/events",status="201"} 2"#), metrics)
        XCTAssertTrue(metrics.contains("stratos_append_refused_total 4"), "422 and 409, twice each")
    }

    /// Pipelined requests, appends among reads and refusals, are answered in the order sent,
    /// each with its own answer.
    func testPipelinedRequestsAreAnsweredInOrder() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let (events, _) = try ServiceTests.history(epochs: 2)
        XCTAssertEqual(try h.post(Array(events.prefix(10))).status, 201)
        let time = events[9].time.rfc3339
        func post(_ body: String) -> String {
            "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(ServiceHarness.writeToken)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        }
        func fund(_ id: String) -> String {
            post(#"[{"id":"\#(id)","type":"Funded","time":"\#(time)","data":{"account":"st1pipe","amount":"5"}}]"#)
        }
        let live = "GET /health/live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        let requests = [
            fund("p1"), live, fund("p2"), fund("p3"), live, post("[{"),
            post(#"[{"id":"p4","type":"Withdrawn","time":"\#(time)","data":{"account":"st1pipe","amount":"15"}}]"#), live, fund("p5"),
        ]
        let responses = try LoopbackHTTPClient(port: h.port).pipelined(raw: Array(requests.joined().utf8), count: requests.count)
        XCTAssertEqual(responses.map(\.status), [201, 200, 201, 201, 200, 400, 201, 200, 201], responses.map(\.text).joined(separator: "\n"))
        XCTAssertEqual(try responses[0].json["head"]?.int, 11)
        XCTAssertEqual(try responses[2].json["head"]?.int, 12)
        XCTAssertEqual(try responses[3].json["head"]?.int, 13)
        XCTAssertEqual(try responses[6].json["head"]?.int, 14, "the withdrawal sees the three fundings before it")
        XCTAssertEqual(try responses[8].json["head"]?.int, 15)
        XCTAssertEqual(try responses[1].json["status"]?.string, "live")
    }

    /// A client that sends an append and hangs up before the answer: the append is still
    /// decided (and committed) and the server goes on serving.
    func testAClientThatHangsUpDoesNotStopTheServer() throws {
        let h = try ServiceHarness()
        defer { h.stop() }
        let genesis = try FaultTests.genesis()
        XCTAssertEqual(try h.post([genesis]).status, 201)
        let body = FaultTests.funded("gone", after: genesis)
        let request =
            "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(ServiceHarness.writeToken)\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        for _ in 0..<20 {
            _ = try LoopbackHTTPClient(port: h.port).pipelined(raw: Array(request.utf8) + body, count: 0)
        }
        try h.eventually(10, "the hung-up append is committed") { try h.head() == 2 }
        // Every one of the 20 is decided (one appended, 19 duplicates) before the server stops:
        // a connection still in the accept backlog when Hummingbird shuts down can end the
        // process (NIO's "Deinited NIOAsyncWriter without calling finish()"; see the issue note).
        try h.eventually(10, "all 20 decided") {
            try h.get("/metrics").text.contains("\nstratos_events_duplicate_total 19\n")
        }
        XCTAssertEqual(try h.post([genesis]).status, 200, "a duplicate, answered as usual")
    }

    /// What the event loop leaves to the router still works: no token (401), a wrong media type
    /// (415), a declared length over the limit (413), a query string, `Connection: close`.
    func testRequestsLeftToTheRouter() throws {
        let h = try ServiceHarness(maxBodyBytes: 1024)
        defer { h.stop() }
        let genesis = try FaultTests.genesis()
        let body = Array(("[" + String(decoding: genesis.canonicalUTF8, as: UTF8.self) + "]").utf8)
        XCTAssertEqual(try h.postRaw(body, contentType: "application/json", headers: []).status, 401)
        XCTAssertEqual(try h.postRaw(body, contentType: "text/plain").status, 415)
        XCTAssertEqual(try h.postRaw(Array(repeating: UInt8(ascii: " "), count: 2000), contentType: "application/json").status, 413)
        let closing = try h.postRaw(body, contentType: "application/json", headers: h.auth + [("Connection", "close")])
        XCTAssertEqual(closing.status, 201, closing.text)
        let queried = try h.client.request(
            "POST", "/v1/events?x=1", headers: h.auth + [("Content-Type", "application/json")], body: body)
        XCTAssertEqual(queried.status, 200, "a duplicate, through the router: \(queried.text)")
        XCTAssertTrue(AppendEndpoint.saysClose("keep-alive, Close"))
        XCTAssertFalse(AppendEndpoint.saysClose("keep-alive"))
    }
}
