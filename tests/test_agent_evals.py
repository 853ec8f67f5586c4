"""ADK's AgentEvaluator runs the offline model's eval set: trajectories and answers are pinned."""

from pathlib import Path

from google.adk.evaluation.agent_evaluator import AgentEvaluator

from data_science.config import Settings

EVALS = Path(__file__).parent / "evals"


async def test_the_offline_model_keeps_its_tool_trajectories_and_answers(
    settings: Settings,
) -> None:
    await AgentEvaluator.evaluate(
        agent_module="data_science.agent",
        eval_dataset_file_path_or_dir=str(EVALS / "offline_model.test.json"),
        num_runs=1,
        print_detailed_results=False,
    )
