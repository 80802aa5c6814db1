// The library's one import: a program that reads models needs the file and model types
// (KerasModel), the forward pass (KerasRuntime) and NumPy arrays alongside the checks, and the
// KerasInspect product is the only one the package offers.
@_exported import KerasModel
@_exported import KerasRuntime
@_exported import NumPy
@_exported import PythonCode
