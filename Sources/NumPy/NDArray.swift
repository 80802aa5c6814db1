import Foundation

/// An n-dimensional array read from or written to NumPy's `.npy` format.
///
/// Values are held as Float (the runtime computes in float32); the stored dtype is kept so a
/// caller can tell token ids from features and report what a file held.
public struct NDArray: Sendable, Equatable {
  public enum DType: String, Sendable {
    case float32 = "<f4", float64 = "<f8", int32 = "<i4", int64 = "<i8"
    /// NumPy's bool, one byte a value (mask inputs); read as 0 and 1.
    case bool = "|b1"

    var size: Int {
      switch self {
      case .bool: 1
      case .float32, .int32: 4
      case .float64, .int64: 8
      }
    }

    /// NumPy's name (`float32`, ...).
    public var name: String { String(describing: self) }
  }

  public var shape: [Int]
  public var dtype: DType
  public var values: [Float]

  public init(shape: [Int], dtype: DType = .float32, values: [Float]) {
    precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
    self.shape = shape
    self.dtype = dtype
    self.values = values
  }
}

/// Why an array file could not be read.
public struct NumPyError: Error, CustomStringConvertible, Sendable {
  public let message: String
  public var description: String { message }

  init(_ message: String) {
    self.message = message
  }
}
