/// Pearson's and Spearman's correlation as scipy.stats computes them (float64; NaN for a constant input).
enum Correlation {
    /// `scipy.stats.pearsonr(x, y).statistic`.
    static func pearson(_ x: [Double], _ y: [Double]) -> Double {
        precondition(x.count == y.count && x.count >= 2)
        func centered(_ v: [Double]) -> [Double]? {
            guard v.contains(where: { $0 != v[0] }) else { return nil }
            let mean = v.reduce(0, +) / Double(v.count)
            let centered = v.map { $0 - mean }
            let largest = centered.map(abs).max()!
            let scaled = centered.map { $0 / largest }
            let norm = scaled.reduce(0) { $0 + $1 * $1 }.squareRoot()
            return scaled.map { $0 / norm }
        }
        guard let a = centered(x), let b = centered(y) else { return .nan }
        return min(1, max(-1, zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }))
    }

    /// `scipy.stats.spearmanr(x, y).statistic`: Pearson's correlation of the ranks, ties given their mean rank.
    static func spearman(_ x: [Double], _ y: [Double]) -> Double {
        pearson(ranks(x), ranks(y))
    }

    /// `scipy.stats.rankdata(v)`: ranks from 1, ties averaged.
    static func ranks(_ v: [Double]) -> [Double] {
        let order = v.indices.sorted { v[$0] < v[$1] }
        var ranks = [Double](repeating: 0, count: v.count)
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && v[order[end]] == v[order[start]] { end += 1 }
            let rank = Double(start + 1 + end) / 2
            for i in start..<end { ranks[order[i]] = rank }
            start = end
        }
        return ranks
    }
}
