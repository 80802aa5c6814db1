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
    // A layer's call, by the layer's number: its place in `layers`, or past them for a name that
    // no layer has. Each name is hashed once per reference, not per set and table it goes through.
    struct Producer: Hashable { let layer: Int; let node: Int }
    var numbers = [String: Int](minimumCapacity: layers.count)
    for (i, layer) in layers.enumerated() where numbers[layer.name] == nil { numbers[layer.name] = i }
    func number(_ name: String) -> Int {
      if let known = numbers[name] { return known }
      let new = layers.count + numbers.count
      numbers[name] = new
      return new
    }
    var available: Set<Producer> = []
    for layer in layers where layer.className == "InputLayer" { available.insert(Producer(layer: number(layer.name), node: 0)) }
    for ref in inputs { available.insert(Producer(layer: number(ref.layer), node: 0)) }

    var calls: [ScheduledCall] = []
    for (i, layer) in layers.enumerated() where layer.className != "InputLayer" {
      for k in layer.calls.indices {
        calls.append(ScheduledCall(layer: i, call: k, node: ModelAnalysis.nodeIndex(of: layer, call: k, in: self, keras3: keras3)))
      }
    }
    var pending = [Int](repeating: 0, count: calls.count)
    var waiters: [Producer: [Int]] = [:]
    var needs: [Producer] = []
    for (id, call) in calls.enumerated() {
      let refs = layers[call.layer].calls[call.call].inputs
      needs.removeAll(keepingCapacity: true)
      for ref in refs {
        let producer = Producer(layer: number(ref.layer), node: ref.node)
        // Each producer once; a call of many inputs (a hostile file's) through a set.
        if refs.count > 16 || !needs.contains(producer) { needs.append(producer) }
      }
      if refs.count > 16 { needs = Array(Set(needs)) }
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
        let producer = Producer(layer: number(layers[call.layer].name), node: call.node)
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
