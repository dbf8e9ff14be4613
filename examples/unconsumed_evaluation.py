"""An experiment started with ``aevaluate(..., blocking=False)`` whose results are never consumed.

``asyncio.run`` returns as soon as ``main`` does and cancels the evaluation task: the experiment
shows only the examples evaluated so far, often none, and nobody is told. lsautofix cannot
finish the evaluation for you, but it warns (UnconsumedEvaluationWarning) with the count and the
line to fix. The dataset is created here, so the script runs against any endpoint, including
``lsautofix doctor``'s local collector.
"""

import asyncio
import uuid

from langsmith import Client
from langsmith.evaluation import aevaluate


async def answer(inputs: dict) -> dict:
    await asyncio.sleep(0.05)
    return {"answer": inputs["question"].upper()}


def exact(outputs: dict, reference_outputs: dict) -> bool:
    return outputs["answer"] == reference_outputs["answer"]


async def main(client: Client, dataset: str) -> None:
    results = await aevaluate(answer, data=dataset, evaluators=[exact], client=client, blocking=False)
    print("experiment started:", results.experiment_name)
    # Missing: `async for _ in results: pass` (or blocking=True). The evaluation dies with the loop.


if __name__ == "__main__":
    client = Client()
    dataset = client.create_dataset(f"doctor-demo-{uuid.uuid4().hex[:8]}")
    questions = ["why", "how", "when", "where", "who", "what"]
    client.create_examples(
        dataset_id=dataset.id,
        examples=[{"inputs": {"question": q}, "outputs": {"answer": q.upper()}} for q in questions],
    )
    asyncio.run(main(client, dataset.name))
