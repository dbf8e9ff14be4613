"""Evaluations as users write them: `evaluation.py KIND [START_METHOD]`.

unconsumed: `aevaluate(..., blocking=False)` whose results are never iterated.
consumed:   the same, iterated.
sync:       `evaluate(..., blocking=False)`, then `results.wait()`.
pool:       a Pool of workers, each running aevaluate over one example into one experiment.
"""

import asyncio
import multiprocessing as mp
import sys

from langsmith import Client, aevaluate, evaluate

N_EXAMPLES = 8


def make_dataset(client: Client, name: str) -> None:
    dataset = client.create_dataset(name)
    client.create_examples(
        inputs=[{"x": i} for i in range(N_EXAMPLES)],
        outputs=[{"y": i * 2} for i in range(N_EXAMPLES)],
        dataset_id=dataset.id,
    )


async def atarget(inputs: dict) -> dict:
    await asyncio.sleep(0.01)
    return {"y": inputs["x"] * 2}


def target(inputs: dict) -> dict:
    return {"y": inputs["x"] * 2}


def correct(outputs: dict, reference_outputs: dict) -> bool:
    return outputs["y"] == reference_outputs["y"]


async def unconsumed(client: Client) -> None:
    results = await aevaluate(atarget, data="ds", evaluators=[correct], client=client, blocking=False,
                              experiment_prefix="unconsumed")
    print("experiment:", results.experiment_name, flush=True)


async def consumed(client: Client) -> None:
    results = await aevaluate(atarget, data="ds", evaluators=[correct], client=client, blocking=False,
                              experiment_prefix="consumed")
    rows = [row async for row in results]
    print("experiment:", results.experiment_name, "rows:", len(rows), flush=True)


def one_example(args: tuple) -> int:
    example_id, experiment = args
    client = Client()
    example = client.read_example(example_id)

    async def run() -> int:
        results = await aevaluate(atarget, data=[example], evaluators=[correct], client=client, experiment=experiment)
        return len([row async for row in results])

    return asyncio.run(run())


def pool(client: Client, method: str) -> None:
    dataset = client.read_dataset(dataset_name="ds")
    examples = sorted(client.list_examples(dataset_id=dataset.id), key=lambda e: e.inputs["x"])
    project = client.create_project("pool-experiment", reference_dataset_id=dataset.id)
    with mp.get_context(method).Pool(4) as workers:
        done = workers.map(one_example, [(str(e.id), project.name) for e in examples])
    print("experiment: pool-experiment rows:", sum(done), flush=True)


if __name__ == "__main__":
    kind = sys.argv[1]
    client = Client()
    make_dataset(client, "ds")
    if kind == "unconsumed":
        asyncio.run(unconsumed(client))
    elif kind == "consumed":
        asyncio.run(consumed(client))
    elif kind == "sync":
        results = evaluate(target, data="ds", evaluators=[correct], client=client, blocking=False,
                           experiment_prefix="sync")
        results.wait()
        print("experiment:", results.experiment_name, "rows:", len(results), flush=True)
    elif kind == "pool":
        pool(client, sys.argv[2])
