"""The shared vocabulary, below every other layer: the kinds served (`kinds`), Status errors (`errors`) and
the Kubernetes protobuf schema with its codec (`proto`).

Why a package of its own rather than part of `apiserver`: storage aside, every layer raises
`ApiError`s and names kinds, so if they lived with the server, validation and the registry would
import upward. Kubernetes keeps them in apimachinery for the same reason.
"""
