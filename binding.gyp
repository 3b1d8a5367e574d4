{
  "targets": [
    {
      "target_name": "move37",
      "sources": [
        "native/napi.c",
        "native/threadpool.c",
        "native/scratch.c",
        "native/gemm.c",
        "native/gemm_bf16.c",
        "native/peak.c",
        "native/reduce.c",
        "native/norms.c",
        "native/rope.c",
        "native/attention.c",
        "native/activations.c",
        "native/embedding.c",
        "native/im2col.c",
        "native/logsoftmax.c",
        "native/sample.c",
        "native/adamw.c"
      ],
      "cflags": ["-std=c11", "-O3", "-march=native", "-fno-math-errno", "-pthread", "-Wall", "-Wno-unused-function"],
      "cflags!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "libraries": ["-lm", "-lpthread"],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"]
    }
  ]
}
