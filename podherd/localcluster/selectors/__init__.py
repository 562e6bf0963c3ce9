"""Label and field selector parsers and matchers, ported from apimachinery."""
