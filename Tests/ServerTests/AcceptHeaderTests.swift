import Support
import Testing

@testable import Server

@Suite struct AcceptHeaderTests {
    private let offers: [MediaType] = [.npy, .float32, .json]

    private func choose(_ accept: String?, among offers: [MediaType]? = nil) -> String? {
        AcceptHeader.choose(among: offers ?? self.offers, accept: accept.map { Array($0.utf8)[...] })?.name
    }

    @Test func theTypeWeighedMostIsChosenAndTheDefaultWithoutAHeader() {
        let npy = "application/x-npy"
        let float32 = "application/octet-stream"
        let json = "application/json"
        let cases: [(String?, String?)] = [
            (nil, npy), ("", npy), ("  ", npy), ("*/*", npy), ("application/*", npy),
            (float32, float32), ("Application/Octet-Stream", float32), (json, json),
            // Weights, not the order or the mere presence of a name.
            ("application/x-npy, application/octet-stream;q=0.1", npy),
            ("application/x-npy;q=0.5, application/json;q=0.6", json),
            ("application/octet-stream;q=0", nil), ("application/octet-stream;Q=0.000", nil),
            ("text/html", nil), ("text/html, application/jsonx", nil), ("*/*;q=0", nil),
            // The most specific range gives a type its weight.
            ("*/*;q=0.1, application/json", json), ("application/*;q=0, application/json", json),
            ("*/*, application/x-npy;q=0", float32), ("application/octet-stream;q=0, */*", npy),
            // Equal weights: the more specific range, then the route's order.
            ("application/octet-stream, */*", float32), ("application/json, application/octet-stream", float32),
            // Ranges that cannot be read name nothing; `*` and `.5` as libraries send them.
            ("json", nil), ("*/json", nil), ("application/json;q=high", nil), ("application/json;q=1.5", nil),
            ("application/json;q=", nil), ("application/x/json", nil), ("text/html, *; q=.2", npy),
            ("text/html, image/gif, image/jpeg, *; q=.2, */*; q=.2", npy),
            // Parameters other than q, quoted strings holding `,` and `;`, empty elements and spaces.
            (#"application/json;charset="a,b;q=0", application/octet-stream;q=0.5"#, json),
            (" , application/json ;  q=0.7 ,, application/octet-stream;level=1;q=0.6 ", json),
            ("application/json;q=0.9999", json), ("application/json;q=0.0001", nil),
        ]
        for (accept, expected) in cases {
            #expect(choose(accept) == expected, "Accept: \(accept ?? "(none)")")
        }
        #expect(choose("application/json", among: [.npy, .float32]) == nil)
        #expect(choose("application/*;q=0.2, application/octet-stream;q=0.3", among: [.npy, .float32]) == float32)
    }

    /// Random headers of ranges, weights, parameters and stray bytes: the choice is one of the offers or none, a
    /// `*/*;q=0` added at the end changes nothing, and neither does the case of the names.
    @Test func randomHeadersChooseAnOfferOrNoneAndReadTheSameAnyCase() {
        var random = SplitMix64(seed: 20_261_206)
        let ranges = [
            "application/x-npy", "application/octet-stream", "application/json", "application/*", "*/*", "*",
            "text/html", "*/json", "", "/", "é/x",
        ]
        let parameters = [";q=0", ";q=0.5", "; q=1", ";q=.3", ";q=2", ";q=x", ";level=1", #";x="a,b""#, #";x="\""#]
        let strays = [",", " ", ";", "/", "\"", "\\", "\u{7F}"]
        var chosen = 0
        for _ in 0..<5_000 {
            let elements = (0..<(random.next() % 4 + 1)).map { _ in
                var element = ranges[Int(random.next() % UInt64(ranges.count))]
                for _ in 0..<(random.next() % 3) {
                    element += parameters[Int(random.next() % UInt64(parameters.count))]
                }
                if random.next() % 10 == 0 { element += strays[Int(random.next() % UInt64(strays.count))] }
                return element
            }
            let accept = elements.joined(separator: random.next() % 2 == 0 ? "," : ", ")
            let choice = choose(accept)
            #expect(choice == nil || offers.map(\.name).contains(choice!), "Accept: \(accept)")
            if choice != nil { chosen += 1 }
            if accept.contains(where: { $0 != " " }) {
                #expect(choose(accept + ", */*;q=0") == choice, "Accept: \(accept)")
            }
            #expect(choose(accept.uppercased()) == choice, "Accept: \(accept)")
        }
        #expect(chosen > 1_000 && chosen < 4_500, "the draw chose a type for \(chosen) headers")
    }
}
