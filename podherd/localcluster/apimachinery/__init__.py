"""The shared vocabulary below every other layer: the kinds served and the Status errors (apimachinery)."""
