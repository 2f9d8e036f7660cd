"""Static analysis: shapes, parameters, MACs, memory and receptive field, without Keras."""

from archbuilder.analysis.analyzer import Analysis, LayerReport, analyze
from archbuilder.analysis.graph import LOWERINGS, Graph, Node, build_graph
from archbuilder.analysis.rules import RULES

# The block lowerings (blocks) and the keras_application rule (applications) register themselves
# when their module runs; importing them here makes RULES and LOWERINGS full after any import of
# archbuilder.analysis or of a module inside it (tests/test_registries.py checks it).
from archbuilder.analysis import applications, blocks  # noqa: E402,F401  isort: skip

__all__ = ["Analysis", "LayerReport", "analyze", "Graph", "Node", "build_graph", "RULES", "LOWERINGS"]
