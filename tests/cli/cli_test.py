#!/usr/bin/env python3
"""cagr-run, cagr-zoo and cagr-gen as a user meets them (issue 24): help, version, refusals of bad
flags, --time, --threads, the latency statistics, --report-file, JSON valid for any input and
untouched by a plugin that prints, --save-inputs replayed with --inputs, --batch with --inputs,
--list-plugins with nothing found, progress lines, --isolate-plugins, cached embedding tables with
--profile-ids / --hot-ids and their kernel statistics, and cagr-gen --model.

    cli_test.py [unittest arguments]
Environment: CAGR_RUN, CAGR_ZOO, CAGR_GEN (the programs), CAGR_CPU_PLUGIN (libcagr_cpu.so),
CAGR_NOISY_PLUGIN (a test plugin that prints to stdout), CAGR_SEGV_IN_RUN_PLUGIN (one that crashes in kernel_run).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

RUN = os.environ["CAGR_RUN"]
ZOO = os.environ["CAGR_ZOO"]
GEN = os.environ["CAGR_GEN"]
CPU = os.environ["CAGR_CPU_PLUGIN"]
NOISY = os.environ.get("CAGR_NOISY_PLUGIN", "")
NO_DEVICE = os.environ.get("CAGR_NO_DEVICE_PLUGIN", "")
SEGV_IN_RUN = os.environ["CAGR_SEGV_IN_RUN_PLUGIN"]  # a test plugin that crashes in kernel_run
OPENCL = os.environ.get("CAGR_OPENCL_PLUGIN", "")  # libcagr_opencl.so, where built


def call(args, env=None, check=None, timeout=300):
    e = dict(os.environ)
    e.pop("CAGR_PLUGIN_PATH", None)
    e.update(env or {})
    p = subprocess.run(args, capture_output=True, env=e, timeout=timeout)
    p.out = p.stdout.decode("utf-8", "replace")
    p.err = p.stderr.decode("utf-8", "replace")
    if check is not None and p.returncode != check:
        raise AssertionError(f"{args}: exit {p.returncode}, expected {check}\nstdout:\n{p.out}\nstderr:\n{p.err}")
    return p


class Tools(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="cagr_cli_test_")
        cls.model = os.path.join(cls.dir, "sample", "model.xml")
        call([ZOO, "--model=dlrm_avazu_sample", f"--out={cls.model}"], check=0)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_json(self, *flags, check=0, env=None):
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", "--report=json", "--iterations=3", "--warmup=1", *flags],
                 check=check, env=env)
        return json.loads(p.out), p

    # ---- help and version -------------------------------------------------------------------
    def test_help_lists_the_tools_own_flags_grouped_and_exits_0(self):
        for flag in ("--help", "-h", "-help"):
            p = call([RUN, flag], check=0)
            self.assertEqual(p.err, "")
            for group in ("Model and inputs:", "Plugins and devices:", "Running and timing:", "Placement:",
                          "Report and files:", "Information:"):
                self.assertIn(group, p.out)
            for name in ("--model=FILE", "--batch=N", "--time=SECONDS", "--threads=N", "--report-file=FILE",
                         "--save-inputs=NPZ", "--list-plugins", "--version", "-h, --help", "--optimizer=MODE"):
                self.assertIn(name, p.out)
            # gflags' own flags are not the tool's
            for foreign in ("flagfile", "tab_completion", "helpxml", "undefok", "fromenv"):
                self.assertNotIn(foreign, p.out)
        # gflags' own flags are refused like any unknown flag
        self.assertIn("--helpxml: unknown flag", call([RUN, "--helpxml"], check=2).err)

    def test_every_defined_flag_appears_in_help(self):
        source_dir = os.environ.get("CAGR_SOURCE_DIR")
        if not source_dir:
            self.skipTest("CAGR_SOURCE_DIR not set")
        for tool, source in ((RUN, "tools/cagr-run/main.cpp"), (ZOO, "tools/model_zoo/cagr_zoo_main.cpp"),
                             (GEN, "data/cagr_gen_main.cpp")):
            with open(os.path.join(source_dir, source)) as f:
                text = f.read()
            names = re.findall(r"DEFINE_\w+\((\w+),", text)
            self.assertTrue(names)
            help_text = call([tool, "--help"], check=0).out
            for name in names:
                self.assertRegex(help_text, r"--" + name.replace("_", "-") + r"\b", f"{tool} --help lacks --{name}")

    def test_version_names_the_abi_and_the_plugins(self):
        p = call([RUN, "--version", f"--plugins={CPU}"], check=0)
        self.assertRegex(p.out, r"^cagr-run \d+\.\d+\.\d+\n")
        self.assertRegex(p.out, r"plugin ABI \d+\.\d+")
        self.assertRegex(p.out, r"cpu \d+\.\d+\.\d+ \(ABI built \d+\.\d+, negotiated \d+\.\d+\): .*libcagr_cpu\.so")
        for tool, name in ((ZOO, "cagr-zoo"), (GEN, "cagr-gen")):
            self.assertRegex(call([tool, "--version"], check=0).out, rf"^{name} \d+\.\d+\.\d+\n")
            self.assertIn("Usage:", call([tool, "-h"], check=0).out)

    # ---- refusals ---------------------------------------------------------------------------
    def test_bad_flags_are_refused_naming_the_flag(self):
        model = f"--model={self.model}"
        cases = [
            ([model, "--batch=-5"], "--batch=-5: must be at least 1"),
            ([model, "--batch=abc"], "--batch=abc: not a whole number"),
            ([model, "--bacth=5"], "--bacth: unknown flag (did you mean --batch?)"),
            ([model, "--no-such-flag"], "--no-such-flag: unknown flag"),
            ([model, "stray"], "'stray': unexpected argument"),
            ([model, "--report=xml"], "--report=xml: the reports are text and json"),
            ([model, "--time=0"], "--time=0"),
            ([model, "--time=1", "--iterations=5"], "--time and --iterations both say how long to run"),
            ([model, "--threads=0"], "--threads=0: must be 1 to 4096"),
            ([model, "--data=x.csv", "--inputs=y.npz"], "--data and --inputs both give the inputs"),
            ([model, "--skip-malformed"], "--skip-malformed applies to --data only"),
            ([model, "--optimizer=fastest"], "--optimizer=fastest:"),
            ([model, "--precision=fp8"], "--precision=fp8: expected f32, tf32, bf16 or int8"),
            ([model, "--iterations"], "--iterations needs a value"),
            (["--model=/nonexistent/m.xml"], "--model=/nonexistent/m.xml: no such file"),
            ([f"--model={self.dir}"], "a folder, not a file"),
            ([model, "--save-outputs=/nonexistent/out.npz"], "folder /nonexistent does not exist"),
            ([model, "--report-file=/nonexistent/r.json"], "folder /nonexistent does not exist"),
            ([], "--model is required"),
        ]
        for args, message in cases:
            p = call([RUN, *args], check=2)
            self.assertIn(message, p.err, args)
            self.assertTrue(p.err.startswith("cagr-run: "), p.err)
            self.assertEqual(len(p.err.strip().splitlines()), 1, p.err)
        self.assertIn("--modle: unknown flag (did you mean --model?)", call([ZOO, "--modle=x"], check=2).err)
        self.assertIn("--samples=many: not a whole number", call([GEN, "--samples=many"], check=2).err)

    def test_batch_with_inputs_is_checked_not_ignored(self):
        inputs = self.path("batch16.npz")
        self.run_json("--batch=16", f"--save-inputs={inputs}")
        report, _ = self.run_json(f"--inputs={inputs}")  # the file's batch
        self.assertEqual(report["batch"], 16)
        self.run_json(f"--inputs={inputs}", "--batch=16")  # the same: fine
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", f"--inputs={inputs}", "--batch=32"], check=2)
        self.assertIn("--batch=32: --inputs=" + inputs + " holds a batch of 16 samples", p.err)

    # ---- running ----------------------------------------------------------------------------
    def test_text_report_has_the_full_latency_statistics(self):
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", "--iterations=20", "--batch=8"], check=0)
        self.assertRegex(p.out, r"mean [\d.]+  min [\d.]+  max [\d.]+  p50 [\d.]+  p90 [\d.]+  p95 [\d.]+  p99 [\d.]+  p99\.9 [\d.]+")
        self.assertRegex(p.out, r"end to end: 20 runs, latency p50 [\d.]+ us, p99 [\d.]+ us, throughput \d+ samples/s")
        self.assertIn("batch 8 (1 batch)", p.out)
        self.assertRegex(p.out, r"machine: .*logical CPUs")
        self.assertRegex(p.out, r"plugins \(ABI \d+\.\d+\):\n  cpu ")

    def test_time_runs_for_the_given_seconds(self):
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", "--report=json", "--time=0.5", "--batch=4", "--warmup=0"], check=0)
        report = json.loads(p.out)
        self.assertGreaterEqual(report["seconds"], 0.5)
        self.assertLess(report["seconds"], 5)
        self.assertGreater(report["runs"], 1)
        self.assertEqual(report["time_limit_s"], 0.5)
        s = report["latency_us"]
        self.assertTrue(s["min"] <= s["p50"] <= s["p90"] <= s["p95"] <= s["p99"] <= s["p99.9"] <= s["max"], s)
        self.assertTrue(s["min"] <= s["mean"] <= s["max"], s)
        self.assertAlmostEqual(report["throughput_samples_per_s"], report["runs"] * 4 / report["seconds"], delta=1)

    def test_threads_reach_the_cpu_plugin(self):
        report, _ = self.run_json("--threads=1")
        cpu = [p for p in report["plugins"] if p["name"] == "cpu"][0]
        self.assertEqual(cpu["options"], {"threads": "1"})
        self.assertEqual(report["threads"], 1)
        listing = call([RUN, "--list-plugins", f"--plugins={CPU}", "--threads=3"], check=0).out
        self.assertIn("option threads = 3", listing)

    def test_wait_policy_is_parsed_and_a_bad_value_refused_with_the_reason(self):
        def listing(value, env=None, check=0):
            manifest = self.path(f"wait_{value}.xml")
            with open(manifest, "w") as f:
                f.write(f"<plugins><plugin name='cpu'><option key='wait_policy' value='{value}'/></plugin></plugins>")
            return call([RUN, "--list-plugins", f"--plugins={CPU}", f"--plugin-manifest={manifest}"],
                        env=env, check=check).out
        spinning = {"OMP_WAIT_POLICY": "active", "GOMP_SPINCOUNT": ""}  # an empty count is unset to libgomp
        for value in ("auto", "active"):
            self.assertRegex(listing(value, spinning), rf"loaded +cpu .*\n(.*\n)*.*option wait_policy = {value}")
        self.assertIn("init failed: option wait_policy='sometimes': must be auto, active or passive",
                      listing("sometimes", spinning, check=1))
        # passive only where libgomp was started sleeping: it reads the environment once, at load.
        self.assertIn("init failed: option wait_policy='passive': OpenMP was started with spinning waits",
                      listing("passive", spinning, check=1))
        self.assertRegex(listing("passive", dict(spinning, OMP_WAIT_POLICY="passive")), r"loaded +cpu ")
        self.assertRegex(listing("passive", dict(spinning, GOMP_SPINCOUNT="0")), r"loaded +cpu ")

    def test_json_report_carries_what_the_text_shows(self):
        report, _ = self.run_json("--batch=8", "--print-plan")
        for key in ("version", "abi", "arguments", "model", "source", "batch", "machine", "plugins", "placement", "runs",
                    "latency_us", "throughput_samples_per_s", "nodes", "predictions", "warmup", "resident_inputs"):
            self.assertIn(key, report)
        self.assertEqual(report["batch"], 8)
        self.assertEqual(report["placement"]["decided_by"], "hints")
        self.assertTrue(report["placement"]["nodes"])
        self.assertTrue(all(n["device"] == "cpu:0" for n in report["placement"]["nodes"]))
        self.assertTrue(report["nodes"])  # the per-node profile
        self.assertIn("p50_us", report["nodes"][0])
        self.assertEqual(len(report["predictions"]["values"]), 8)
        self.assertTrue(report["machine"]["logical_cpus"] >= 1)
        self.assertEqual(report["plugins"][0]["status"], "loaded")
        self.assertTrue(report["plugins"][0]["devices"])
        tuned, _ = self.run_json("--batch=8", "--tune", "--tune-repetitions=1", "--measurement-cache=off")
        self.assertEqual(tuned["placement"]["decided_by"], "tune")
        self.assertTrue(tuned["placement"]["planning"])

    def test_json_is_valid_for_any_model_path(self):
        odd = os.path.join(self.dir, 'we"ird\\ dir\tname\x01 \xe9', "m.xml")
        os.makedirs(os.path.dirname(odd))
        shutil.copy(self.model, odd)
        shutil.copy(os.path.join(os.path.dirname(self.model), "model.bin"), os.path.join(os.path.dirname(odd), "m.bin"))
        # the .bin's name is written inside model.xml: keep it
        with open(self.model) as f:
            xml = f.read()
        with open(odd, "w") as f:
            f.write(xml.replace('weights="model.bin"', 'weights="m.bin"'))
        p = call([RUN, f"--model={odd}", f"--plugins={CPU}", "--report=json", "--iterations=2"], check=0)
        report = json.loads(p.out)
        self.assertEqual(report["model"], odd)
        # a path that is not UTF-8: the byte becomes U+FFFD, the JSON stays valid
        bad = os.path.join(self.dir.encode(), b"bad\xff dir")
        os.makedirs(bad)
        for name in (b"model.xml", b"model.bin"):
            shutil.copy(os.path.join(os.path.dirname(self.model).encode(), name), os.path.join(bad, name))
        p = subprocess.run([RUN.encode(), b"--model=" + os.path.join(bad, b"model.xml"), f"--plugins={CPU}".encode(),
                            b"--report=json", b"--iterations=1"], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("bad\ufffd dir", json.loads(p.stdout)["model"])

    def test_report_file_holds_the_report_and_a_printing_plugin_cannot_corrupt_it(self):
        out = self.path("report.json")
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", "--report=json", "--iterations=2", f"--report-file={out}"],
                 check=0)
        self.assertEqual(p.out, "")
        with open(out) as f:
            self.assertEqual(json.load(f)["runs"], 2)
        if not NOISY:
            self.skipTest("no noisy plugin")
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU},{NOISY}", "--report=json", "--iterations=2"], check=0)
        report = json.loads(p.out)  # stdout is exactly the report
        self.assertIn("test_noisy", [x["name"] for x in report["plugins"]])
        self.assertIn("noisy plugin says hello on stdout", p.err)

    def test_an_onnx_export_runs_on_random_ids_with_every_optimizer(self):
        # A DeepFM exported from ordinary PyTorch code: its input is "ids" [B, fields], which reaches
        # the tables through a transpose and reshapes (random inputs once knew only dense/indices/offsets).
        source_dir = os.environ.get("CAGR_SOURCE_DIR")
        if not source_dir:
            self.skipTest("CAGR_SOURCE_DIR not set")
        model = os.path.join(source_dir, "tests", "onnx", "gallery", "deepfm_dynamo.onnx")
        for mode in ["none", "hints", "policy", "tune"]:
            saved = self.path(f"deepfm_{mode}.npz")
            p = call([RUN, f"--model={model}", f"--plugins={CPU}", "--report=json", "--iterations=2", "--batch=16",
                      f"--optimizer={mode}", f"--save-inputs={saved}"], check=0)
            self.assertEqual(json.loads(p.out)["batch"], 16, mode)
            with np.load(saved) as z:
                self.assertEqual(z["ids"].shape[0], 16)
                self.assertTrue((z["ids"] >= 0).all())

    def test_save_inputs_replays_the_same_run(self):
        saved, first_out, replay_out = self.path("in.npz"), self.path("out1.npz"), self.path("out2.npz")
        self.run_json("--batch=8", f"--save-inputs={saved}", f"--save-outputs={first_out}")
        report, _ = self.run_json(f"--inputs={saved}", f"--save-outputs={replay_out}")
        self.assertEqual(report["source"], saved)
        with np.load(saved) as z:
            self.assertEqual(sorted(z.files), ["dense", "indices", "offsets"])
            self.assertEqual(z["dense"].shape, (8, 2))
        with np.load(first_out) as a, np.load(replay_out) as b:
            np.testing.assert_array_equal(a["prob"], b["prob"])

    def test_int8_predicts_within_its_bound_and_its_plan_keeps_it(self):
        saved, f32_out, int8_out, plan = self.path("in64.npz"), self.path("f32.npz"), self.path("int8.npz"), self.path("int8.plan.xml")
        self.run_json("--batch=64", f"--save-inputs={saved}", f"--save-outputs={f32_out}")
        self.run_json(f"--inputs={saved}", "--precision=int8", "--optimizer=tune", f"--save-plan={plan}", f"--save-outputs={int8_out}")
        with open(plan) as f:
            self.assertIn('math_precision="int8"', f.read())
        with np.load(f32_out) as a, np.load(int8_out) as b:
            self.assertLess(float(np.max(np.abs(a["prob"] - b["prob"]))), 1e-2)

    def test_list_plugins_with_nothing_found_says_where_it_looked(self):
        empty = self.path("no_plugins")
        os.makedirs(empty, exist_ok=True)
        p = call([RUN, "--list-plugins", f"--plugins={empty}"], check=1)
        self.assertIn("0 plugin file(s) found, 0 loaded", p.out)
        self.assertIn("searched:\n  " + empty + " (explicit)", p.out)
        p = call([RUN, f"--model={self.model}", f"--plugins={empty}"], check=1)
        self.assertIn("no device to run on: no plugin found", p.err)

    def test_progress_lines_on_long_work(self):
        env = {"CAGR_PROGRESS_DELAY_MS": "0"}
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", "--iterations=50", "--batch=4"], env=env, check=0)
        self.assertRegex(p.err, r"cagr-run: timing: 1 of 50 runs")
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", "--iterations=50", "--batch=4", "--noprogress"], env=env, check=0)
        self.assertNotIn("timing:", p.err)
        p = call([ZOO, "--model=dlrm_avazu_sample", f"--out={self.path('z/model.xml')}"], env=env, check=0)
        self.assertRegex(p.err, r"cagr-zoo: making dlrm_avazu_sample")
        self.assertRegex(p.err, r"cagr-zoo: writing .*model\.bin: \d+ / \d+ MiB \(\d+%\)")
        self.assertRegex(p.out, r"wrote .*model\.xml \(\d+ nodes, [\d.]+ MiB of weights\)")

    def test_a_plugin_without_a_device_says_why(self):
        if not NO_DEVICE:
            self.skipTest("no test plugin without a device")
        listing = call([RUN, "--list-plugins", f"--plugins={NO_DEVICE}"], check=1).out
        self.assertRegex(listing, r"skipped +test_no_device +explicit +\S+: reports no device: "
                                  r"the test device's driver is not installed\n")
        p = call([RUN, f"--model={self.model}", f"--plugins={NO_DEVICE}"], check=1)
        self.assertEqual(p.err.strip(), f"cagr-run: no device to run on: {NO_DEVICE}: reports no device: "
                                        "the test device's driver is not installed")

    def test_isolated_plugins_predict_the_same_and_a_crashed_plugin_is_left_out(self):
        self.run_json(f"--save-outputs={self.path('in_process.npz')}")
        self.run_json("--isolate-plugins", f"--save-outputs={self.path('isolated.npz')}")
        with np.load(self.path("in_process.npz")) as a, np.load(self.path("isolated.npz")) as b:
            self.assertEqual(a["prob"].tobytes(), b["prob"].tobytes())
        # A plugin that crashes while running is left out and the model placed again on the devices
        # left, in the same run (the crashing plugin offers every op at almost no cost, so the first
        # plan gives it nodes); its predictions are the CPU plugin's.
        p = call([RUN, f"--model={self.model}", f"--plugins={SEGV_IN_RUN},{CPU}", "--isolate-plugins", "--iterations=2",
                  f"--save-outputs={self.path('replaced.npz')}", "--report=json"], check=0)
        self.assertRegex(p.err, r"cagr-run: test_segv_in_run:0 left out: plugin test_segv_in_run \(\S+\) failed: the plugin's "
                                r"worker process \(pid \d+\) crashed \(SIGSEGV: Segmentation fault\) in kernel_run; its nodes "
                                r"are placed again")
        placement = json.loads(p.out)["placement"]
        self.assertTrue(any("test_segv_in_run:0 left out" in w for w in placement["warnings"]), placement["warnings"])
        self.assertTrue(all(n["device"] == "cpu:0" for n in placement["nodes"] if n["device"]), placement["nodes"])
        with np.load(self.path("in_process.npz")) as a, np.load(self.path("replaced.npz")) as b:
            self.assertEqual(a["prob"].tobytes(), b["prob"].tobytes())
        # With no other device left, the crash is the error, naming the plugin and the node.
        p = call([RUN, f"--model={self.model}", f"--plugins={SEGV_IN_RUN}", "--isolate-plugins", "--iterations=1"], check=1)
        self.assertRegex(p.err, r"cagr-run: node '[^']+' \(\w+\): plugin test_segv_in_run \(\S+\): kernel_run failed: the plugin's "
                                r"worker process \(pid \d+\) crashed \(SIGSEGV: Segmentation fault\) in kernel_run; no other "
                                r"device is left to run it")
        call([RUN, f"--model={self.model}", f"--plugins={CPU}", "--isolate-plugins", "--plugin-timeout-ms=0"], check=2)

    # ---- the embedding cache (docs/EMBEDDING_CACHE.md) --------------------------------------
    def test_cached_tables_predict_the_same_and_report_their_hits(self):
        if not OPENCL or not os.path.exists(OPENCL):
            self.skipTest("no OpenCL plugin built")
        inputs, profile = self.path("cache_in.npz"), self.path("ids.txt")
        manifest = self.path("tiny_budget.xml")
        with open(manifest, "w") as f:
            f.write('<plugins><plugin name="opencl"><option key="table_budget_bytes" value="4096"/></plugin></plugins>\n')
        flags = [f"--model={self.model}", f"--plugins={OPENCL}", "--report=json", "--iterations=2", "--warmup=1",
                 "--batch=32"]
        p = call([RUN, *flags, f"--save-inputs={inputs}", f"--profile-ids={profile}",
                  f"--save-outputs={self.path('resident.npz')}"], check=0)
        resident = json.loads(p.out)
        if not resident["plugins"][0]["devices"]:
            self.skipTest("no OpenCL device")
        self.assertEqual(resident["kernel_statistics"], [])  # the tables fit: nothing cached
        self.assertEqual(resident["saved"]["id_profile"], profile)
        with open(profile) as f:
            lines = [l.split() for l in f if not l.startswith("#")]
        self.assertTrue(lines)
        self.assertEqual(sum(int(l[3]) for l in lines if l[1] == "0" and l[0] == lines[0][0]), 32)  # one id per bag
        p = call([RUN, *flags, f"--inputs={inputs}", f"--plugin-manifest={manifest}", f"--hot-ids={profile}",
                  f"--save-outputs={self.path('cached.npz')}"], check=0)
        cached = json.loads(p.out)
        with np.load(self.path("resident.npz")) as a, np.load(self.path("cached.npz")) as b:
            self.assertEqual(a["prob"].tobytes(), b["prob"].tobytes())
        self.assertTrue(cached["kernel_statistics"], cached)
        figures = cached["kernel_statistics"][0]["figures"]
        self.assertEqual(cached["kernel_statistics"][0]["op"], "embedding_bag")
        self.assertLess(figures["table0.cache_rows"], figures["table0.rows"])
        # the profile was of these very inputs: its hottest rows, pinned, are hit
        self.assertGreater(sum(v for k, v in figures.items() if k.endswith(".pinned_rows")), 0)
        self.assertGreater(sum(v for k, v in figures.items() if k.endswith(".static_hits")), 0)
        self.assertEqual(figures["table0.hits"] + figures["table0.misses"], figures["table0.lookups"])
        self.assertAlmostEqual(figures["table0.hit_rate"], figures["table0.hits"] / figures["table0.lookups"])
        text = call([RUN, *flags[:2], "--iterations=1", f"--inputs={inputs}", f"--plugin-manifest={manifest}",
                     "--print-plan"], check=0).out
        self.assertRegex(text, r"kernel statistics .*\n  \S+ \(embedding_bag, opencl:0\):\n    table0: cache_rows \d+")
        self.assertRegex(text, r"hit_rate \d+\.\d%")

    # ---- cagr-gen ---------------------------------------------------------------------------
    def test_gen_writes_inputs_that_fit_a_model(self):
        plain = self.path("plain")
        call([GEN, "--schema=avazu", "--format=npz", "--batch-size=64", "--samples=64", f"--output={plain}"], check=0)
        p = call([RUN, f"--model={self.model}", f"--plugins={CPU}", f"--inputs={plain}-000000.npz", "--iterations=1"])
        self.assertNotEqual(p.returncode, 0, "the full Avazu ranges should not fit the sample's 10000-row tables")
        fitted = self.path("fitted")
        call([GEN, f"--model={self.model}", "--format=npz", "--batch-size=64", "--samples=64", f"--output={fitted}"], check=0)
        with np.load(fitted + "-000000.npz") as z:
            indices, offsets = z["indices"], z["offsets"]
            self.assertEqual(len(offsets), 22 * 64 + 1)
            self.assertLess(indices.max(), 10000)
        report, _ = self.run_json(f"--inputs={fitted}-000000.npz")
        self.assertEqual(report["batch"], 64)
        p = call([GEN, f"--model={self.model}", "--schema=criteo", "--format=none", "--samples=1"], check=1)
        self.assertIn("the model has 22 embedding tables", p.err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
