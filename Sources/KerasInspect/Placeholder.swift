import KerasModel
