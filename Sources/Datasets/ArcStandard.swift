import Preprocessing

/// A transition of the arc-standard system. Labels are indices into the dependency label set.
public enum Transition: Equatable, Sendable {
    case shift
    /// Make the second item on the stack a dependent of the top one and pop it.
    case leftArc(Int)
    /// Make the top item a dependent of the second one and pop it.
    case rightArc(Int)

    /// The transition's class id: shift 0, left-arc(l) 1 + l, right-arc(l) 1 + labelCount + l.
    public func id(labelCount: Int) -> Int32 {
        switch self {
        case .shift: 0
        case .leftArc(let label): Int32(1 + label)
        case .rightArc(let label): Int32(1 + labelCount + label)
        }
    }
}

/// A parser configuration of the arc-standard system (Nivre 2004): a stack, a buffer and the arcs built so far.
/// Token 0 is the artificial root; words are 1...n.
public struct ArcStandardState: Sendable {
    public let wordCount: Int
    public private(set) var stack: [Int] = [0]
    /// The first word still in the buffer (`wordCount + 1` when it is empty).
    public private(set) var bufferStart = 1
    /// Head of each token (index 0 unused), -1 while unattached.
    public private(set) var heads: [Int]
    public private(set) var labels: [Int]
    /// Each token's dependents left of it, ascending, and right of it, ascending.
    public private(set) var leftDependents: [[Int]]
    public private(set) var rightDependents: [[Int]]

    public init(wordCount: Int) {
        self.wordCount = wordCount
        heads = Array(repeating: -1, count: wordCount + 1)
        labels = Array(repeating: -1, count: wordCount + 1)
        leftDependents = Array(repeating: [], count: wordCount + 1)
        rightDependents = Array(repeating: [], count: wordCount + 1)
    }

    public var isTerminal: Bool { bufferStart > wordCount && stack.count == 1 }

    /// The i-th buffer word (0-based), or `nil`.
    public func buffer(_ index: Int) -> Int? {
        bufferStart + index <= wordCount ? bufferStart + index : nil
    }

    /// The i-th item from the top of the stack (0-based), or `nil`.
    public func stack(_ index: Int) -> Int? {
        index < stack.count ? stack[stack.count - 1 - index] : nil
    }

    /// Whether `transition` is allowed here.
    public func allows(_ transition: Transition) -> Bool {
        switch transition {
        case .shift: bufferStart <= wordCount
        case .leftArc: stack.count >= 2 && stack[stack.count - 2] != 0
        case .rightArc: stack.count >= 2
        }
    }

    public mutating func apply(_ transition: Transition) {
        precondition(allows(transition), "\(transition) is not allowed in this configuration")
        switch transition {
        case .shift:
            stack.append(bufferStart)
            bufferStart += 1
        case .leftArc(let label):
            let head = stack.removeLast()
            let dependent = stack.removeLast()
            attach(dependent, to: head, label: label)
            stack.append(head)
        case .rightArc(let label):
            let dependent = stack.removeLast()
            attach(dependent, to: stack[stack.count - 1], label: label)
        }
    }

    private mutating func attach(_ dependent: Int, to head: Int, label: Int) {
        heads[dependent] = head
        labels[dependent] = label
        if dependent < head {
            leftDependents[head].insert(
                dependent, at: leftDependents[head].firstIndex { $0 > dependent } ?? leftDependents[head].count)
        } else {
            rightDependents[head].insert(
                dependent, at: rightDependents[head].firstIndex { $0 > dependent } ?? rightDependents[head].count)
        }
    }

    /// The k-th leftmost dependent of `token` (k from 1), or `nil`.
    public func leftmost(_ token: Int?, _ k: Int = 1) -> Int? {
        guard let token else { return nil }
        let dependents = leftDependents[token]
        return k <= dependents.count ? dependents[k - 1] : nil
    }

    /// The k-th rightmost dependent of `token` (k from 1), or `nil`.
    public func rightmost(_ token: Int?, _ k: Int = 1) -> Int? {
        guard let token else { return nil }
        let dependents = rightDependents[token]
        return k <= dependents.count ? dependents[dependents.count - k] : nil
    }
}

/// The static oracle of the arc-standard system: the transitions that build a gold tree.
public enum ArcStandardOracle {
    /// The transition sequence for a tree given by `heads[1...n]` (0 = root) and `labels[1...n]`, or `nil` when the
    /// tree is not projective (arc-standard cannot build it).
    public static func transitions(heads: [Int], labels: [Int]) -> [Transition]? {
        let count = heads.count - 1
        var state = ArcStandardState(wordCount: count)
        var dependentsLeft = Array(repeating: 0, count: count + 1)
        for token in 1...max(count, 1) where token <= count { dependentsLeft[heads[token]] += 1 }
        var transitions: [Transition] = []
        transitions.reserveCapacity(2 * count)
        while !state.isTerminal {
            var next: Transition?
            if let top = state.stack(0), let second = state.stack(1) {
                if second != 0 && heads[second] == top {
                    next = .leftArc(labels[second])
                } else if heads[top] == second && dependentsLeft[top] == 0 {
                    next = .rightArc(labels[top])
                }
            }
            if next == nil {
                guard state.allows(.shift) else { return nil }  // stuck: the tree is not projective
                next = .shift
            }
            switch next! {
            case .leftArc: dependentsLeft[state.stack(0)!] -= 1
            case .rightArc: dependentsLeft[state.stack(1)!] -= 1
            case .shift: break
            }
            state.apply(next!)
            transitions.append(next!)
        }
        return transitions
    }
}
