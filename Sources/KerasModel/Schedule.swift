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
    var slots = ProducerSlots(self)
    for layer in layers where layer.className == "InputLayer" { _ = slots.makeAvailable(slots.slot(layer.name, node: 0)) }
    for ref in inputs { _ = slots.makeAvailable(slots.slot(ref.layer, node: 0)) }

    var calls: [ScheduledCall] = []
    for (i, layer) in layers.enumerated() where layer.className != "InputLayer" {
      for k in layer.calls.indices {
        calls.append(ScheduledCall(layer: i, call: k, node: ModelAnalysis.nodeIndex(of: layer, call: k, in: self, keras3: keras3)))
      }
    }
    var pending = [Int](repeating: 0, count: calls.count)
    var needs: [Int] = []
    for (id, call) in calls.enumerated() {
      let refs = layers[call.layer].calls[call.call].inputs
      needs.removeAll(keepingCapacity: true)
      for ref in refs {
        let producer = slots.slot(ref.layer, node: ref.node)
        // Each producer once; a call of many inputs (a hostile file's) through a set.
        if refs.count > 16 || !needs.contains(producer) { needs.append(producer) }
      }
      if refs.count > 16 { needs = Array(Set(needs)) }
      for producer in needs where !slots.isAvailable(producer) {
        pending[id] += 1
        slots.wait(id, for: producer)
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
        let producer = slots.slot(layers[call.layer].name, node: call.node)
        guard slots.makeAvailable(producer) else { continue }
        for waiter in slots.waiters(of: producer) {
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

/// The calls a schedule tracks, each a slot: a layer's possible calls by its place in the model
/// and its node, numbered in turn, then (a hostile file's) names no layer has and nodes past a
/// layer's calls as they turn up. A tensor's layer name is hashed once per reference; what is
/// produced and who waits for it are arrays by slot.
private struct ProducerSlots {
  /// Each layer name's first place.
  private let places: [String: Int]
  /// The first slot of each layer's calls, and past the last, the first of the others.
  private var firstSlot: [Int]
  /// Slots of the other calls, by name and node.
  private var others: [Other: Int] = [:]
  private struct Other: Hashable { let name: String; let node: Int }
  private var available: [Bool]
  private var waiting: [[Int]]

  init(_ model: ModelConfig) {
    places = model.firstPlaces()
    firstSlot = [0]
    firstSlot.reserveCapacity(model.layers.count + 1)
    // Keras 2 numbers a nested functional model's calls from 1: one node more than calls.
    for layer in model.layers { firstSlot.append(firstSlot.last! + layer.calls.count + 2) }
    available = [Bool](repeating: false, count: firstSlot.last!)
    waiting = [[Int]](repeating: [], count: firstSlot.last!)
  }

  mutating func slot(_ name: String, node: Int) -> Int {
    if let place = places[name], node < firstSlot[place + 1] - firstSlot[place] { return firstSlot[place] + node }
    let other = Other(name: name, node: node)
    if let known = others[other] { return known }
    others[other] = available.count
    available.append(false)
    waiting.append([])
    return available.count - 1
  }

  func isAvailable(_ slot: Int) -> Bool { available[slot] }

  /// Marks the slot's call as run; false when it already was.
  mutating func makeAvailable(_ slot: Int) -> Bool {
    defer { available[slot] = true }
    return !available[slot]
  }

  mutating func wait(_ call: Int, for slot: Int) { waiting[slot].append(call) }

  func waiters(of slot: Int) -> [Int] { waiting[slot] }
}
