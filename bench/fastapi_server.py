"""The FastAPI peer of the upload benchmark, shaped like the seed's proof of
concept: `POST /file` (or `PUT`, which `curl -T` sends) streams
`request.stream()` into a bounded `asyncio.Queue` of 8 chunks (reader
coroutine); a writer coroutine takes each chunk and writes it with
`asyncio.to_thread`. It neither hashes nor fsyncs. Served by uvicorn with
uvloop and httptools (Debian: python3-fastapi python3-uvicorn python3-uvloop
python3-httptools).

Run: /usr/bin/python3 bench/fastapi_server.py <dir> <port>

Prints one JSON line {"msg": "listening", "url": ...} once it accepts
connections, as the other benchmark servers do.
"""

import asyncio
import itertools
import json
import os
import sys

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

DIR = sys.argv[1]
PORT = int(sys.argv[2])
QUEUE_CHUNKS = 8
_END = None
_names = itertools.count()

app = FastAPI()


async def _reader(request: Request, queue: asyncio.Queue) -> None:
    try:
        async for chunk in request.stream():
            if chunk:
                await queue.put(chunk)
    finally:
        await queue.put(_END)


async def _writer(path: str, queue: asyncio.Queue) -> int:
    size = 0
    with open(path, "wb") as out:
        while True:
            chunk = await queue.get()
            if chunk is _END:
                return size
            await asyncio.to_thread(out.write, chunk)
            size += len(chunk)


@app.api_route("/file", methods=["POST", "PUT"])
async def upload(request: Request) -> JSONResponse:
    queue: asyncio.Queue = asyncio.Queue(maxsize=QUEUE_CHUNKS)
    path = os.path.join(DIR, f"upload-{next(_names)}")
    _, size = await asyncio.gather(_reader(request, queue), _writer(path, queue))
    return JSONResponse({"size": size}, status_code=201)


async def main() -> None:
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=PORT,
        loop="uvloop",
        http="httptools",
        log_level="warning",
        access_log=False,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.02)
    if server.started:
        print(json.dumps({"msg": "listening", "url": f"http://127.0.0.1:{PORT}"}), flush=True)
    await serving


if __name__ == "__main__":
    import uvloop

    uvloop.install()
    asyncio.run(main())
