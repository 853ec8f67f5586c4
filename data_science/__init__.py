"""The data-science agent, an ADK agent package: `adk web` and `adk api_server` load `agent.app`."""

import os

# LiteLLM fetches its price map from GitHub when imported unless told not to; the copy it ships
# keeps start-up offline (machines running this may have no internet) and costs repeatable.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
