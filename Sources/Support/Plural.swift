/// Counts in messages, the noun in the number its count takes: "1 batch", "0 batches", "61 batches".
public enum Plural {
    /// `count` and `singular`, or `plural` (by default `singular` + "s") when `count` is not 1.
    public static func count(_ count: Int, _ singular: String, _ plural: String? = nil) -> String {
        "\(count) " + (count == 1 ? singular : plural ?? singular + "s")
    }
}
