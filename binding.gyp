{
  "targets": [
    {
      "target_name": "move37",
      "sources": [
        "native/napi.c"
      ],
      "cflags": ["-std=c11", "-O3", "-march=native", "-fno-math-errno", "-pthread", "-Wall", "-Wno-unused-function"],
      "cflags!": ["-O2", "-O0"],
      "ldflags": ["-pthread"],
      "libraries": ["-lm", "-lpthread"],
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"]
    }
  ]
}
