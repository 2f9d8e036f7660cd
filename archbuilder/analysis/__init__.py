"""Static analysis: shapes, parameters, MACs, memory and receptive field, without Keras."""

from archbuilder.analysis.analyzer import Analysis, LayerReport, analyze
from archbuilder.analysis.graph import LOWERINGS, Graph, Node, build_graph
from archbuilder.analysis.rules import RULES

__all__ = ["Analysis", "LayerReport", "analyze", "Graph", "Node", "build_graph", "RULES", "LOWERINGS"]
