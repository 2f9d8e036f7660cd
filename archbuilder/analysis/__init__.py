"""Static analysis: shapes, parameters, MACs, memory and receptive field, without Keras."""

from archbuilder.analysis.analyzer import Analysis, LayerReport, analyze
from archbuilder.analysis.graph import LOWERINGS, Graph, Node, build_graph
from archbuilder.analysis.rules import RULES

# The block lowerings register themselves in LOWERINGS when their module runs; importing it here
# makes the registry full after any import of archbuilder.analysis (or of a module inside it).
from archbuilder.analysis import blocks  # noqa: E402,F401  isort: skip

__all__ = ["Analysis", "LayerReport", "analyze", "Graph", "Node", "build_graph", "RULES", "LOWERINGS"]
