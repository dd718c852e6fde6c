"""Help texts of the options every command that runs a model shares: --device, --chunk-size, --engine."""

DEVICE_HELP = ("Where the encoder and projector run (and the MM-LLM, where one runs): auto (a GPU when torch sees "
               "one, else the CPU), cpu, cuda, cuda:N or mps.")
CHUNK_HELP = ("Items read at once from a features dataset (default 65536, at least 1): memory is bounded by it, "
              "results do not depend on it (docs/scale.md).")
ENGINE_HELP = ("Where the image encoder runs: local (this process, the default) or ray (Ray Data actors; needs the "
               "'ray' extra: pip install 'tinyemo-audit\\[ray]'). Not for features: datasets or --predictions.")
ACTORS_HELP = ("With --engine ray: encoder actors (default: one per GPU of the cluster, else one per CPU); each loads "
               "the encoder once.")
RAY_ADDRESS_HELP = ("Join this Ray cluster (e.g. 127.0.0.1:6379 or ray://host:10001) instead of starting a local "
                    "Ray for the command; with --engine ray.")
