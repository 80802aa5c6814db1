/// One call of a layer, in the order a forward pass runs them.
public struct ScheduledCall: Sendable, Equatable {
  /// Index of the layer in its model's `layers`.
  public let layer: Int
  /// Which of the layer's calls.
  public let call: Int
  /// Keras's node index of that call (the `1` of `lstm[1][0]`).
  public let node: Int
}

extension ModelConfig {
  /// Every call whose inputs can be produced, in an order where each call comes after the calls
  /// that produce its inputs: config order wherever that allows (Keras writes configs in that
  /// order, but a shared layer's later call may need layers listed after it). One walk over the
  /// graph, linear in layers plus edges. Calls whose inputs nothing produces are left out.
  public func schedule(keras3: Bool) -> [ScheduledCall] {
    struct Producer: Hashable { let layer: String; let node: Int }
    var available: Set<Producer> = []
    for layer in layers where layer.className == "InputLayer" { available.insert(Producer(layer: layer.name, node: 0)) }
    for ref in inputs { available.insert(Producer(layer: ref.layer, node: 0)) }

    var calls: [ScheduledCall] = []
    for (i, layer) in layers.enumerated() where layer.className != "InputLayer" {
      for k in layer.calls.indices {
        calls.append(ScheduledCall(layer: i, call: k, node: ModelAnalysis.nodeIndex(of: layer, call: k, in: self, keras3: keras3)))
      }
    }
    var pending = [Int](repeating: 0, count: calls.count)
    var waiters: [Producer: [Int]] = [:]
    for (id, call) in calls.enumerated() {
      let needs = Set(layers[call.layer].calls[call.call].inputs.map { Producer(layer: $0.layer, node: $0.node) })
      for producer in needs where !available.contains(producer) {
        pending[id] += 1
        waiters[producer, default: []].append(id)
      }
    }
    var order: [ScheduledCall] = []
    order.reserveCapacity(calls.count)
    var scheduled = [Bool](repeating: false, count: calls.count)
    var position = 0
    var stack: [Int] = []
    func run(_ id: Int) {
      stack.append(id)
      while let next = stack.popLast() {
        scheduled[next] = true
        let call = calls[next]
        order.append(call)
        let producer = Producer(layer: layers[call.layer].name, node: call.node)
        guard available.insert(producer).inserted else { continue }
        for waiter in waiters[producer] ?? [] {
          pending[waiter] -= 1
          // Calls still ahead of the scan wait for it, keeping config order; earlier ones run now.
          if pending[waiter] == 0, waiter < position, !scheduled[waiter] { stack.append(waiter) }
        }
      }
    }
    while position < calls.count {
      let id = position
      position += 1
      if pending[id] == 0, !scheduled[id] { run(id) }
    }
    return order
  }
}
