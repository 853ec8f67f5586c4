"""The data-science computations behind the tools: plain pandas/scikit-learn, no ADK."""
