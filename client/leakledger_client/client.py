"""``Client``: LeakLedger from a training script (register, evaluate, check, cite, download)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import config
from .errors import Conflict, JobFailed, JobTimeout, LeakLedgerError, NotReady
from .models import (
    ContaminationReport,
    DatasetVersion,
    Evaluation,
    Job,
    ModelVersion,
    OverlapResult,
    Pair,
    Record,
    Split,
    Threshold,
)
from .progress import Progress
from .transport import MultipartStream, Transport, file_path

if TYPE_CHECKING:
    import pandas

PathLike = str | os.PathLike[str]
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$")
CITATION_FORMATS = ("bibtex", "cff", "csl", "datacite")
JOB_ERROR_STATUS = {
    "not_found": 404,
    "conflict": 409,
    "immutable": 409,
    "permission_denied": 403,
    "internal_error": 500,
}


def _is_part_ref(ref: str) -> bool:
    return "/" in ref and ":" in ref.rsplit("/", 1)[-1]


def _form_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


class Client:
    """A connection to a LeakLedger server.

    Args:
        url: the server (``https://ledger.example.org``) or its API root; default ``LEAKLEDGER_URL``,
            then the config file, then ``http://127.0.0.1:8000``.
        token: an API token (``manage.py create_token``); default ``LEAKLEDGER_TOKEN``, then the
            config file. Reads need none; every write does.
        progress: progress on stderr for uploads and background work: ``None`` (default) shows a bar
            on a terminal and a line every few seconds otherwise, ``False`` nothing.
        timeout: seconds to wait for one HTTP answer.
        wait_timeout: longest wait for a background job or report, in seconds (default: no limit).

    Example:
        >>> ll = Client("http://127.0.0.1:8000", token="...")             # doctest: +SKIP
        >>> v = ll.register_dataset("test.fasta", name="bench", kind="protein")  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        progress: bool | None = None,
        timeout: float = 300.0,
        wait_timeout: float | None = None,
        poll_interval: float = 0.5,
    ):
        self.settings = config.resolve(url, token)
        self.wait_timeout = wait_timeout
        self.transport = Transport(self.settings, timeout=timeout)
        self.progress = progress
        self.poll_interval = poll_interval

    def __repr__(self) -> str:
        return f"Client({self.settings.describe()})"

    # -- jobs ------------------------------------------------------------------------------------

    def job(self, job: str | Job) -> Job:
        """A job by UUID (or refreshed)."""
        key = job.uuid if isinstance(job, Job) else job
        return Job.from_json(self.transport.json("GET", f"jobs/{key}/"))

    def wait(self, job: str | Job, *, timeout: float | None = None, label: str | None = None) -> Job:
        """Poll a job until it has succeeded (returned) or failed (``JobFailed``), with progress.

        Raises:
            JobFailed: the job failed; ``detail``/``code``/``fields`` are its error (for a rejected
                file: ``file``, ``line``, ``record``, ``reason``, ``hint``), ``fields["job"]`` its URL.
            JobTimeout: still not finished after ``timeout`` seconds (it goes on on the server).
        """
        current = job if isinstance(job, Job) else self.job(job)
        timeout = timeout if timeout is not None else self.wait_timeout
        bar = Progress(label or f"{current.kind or 'job'} {current.uuid[:8]}", enabled=self.progress)
        started = time.monotonic()
        delay = self.poll_interval
        try:
            while not current.finished:
                progress = current.progress or {}
                bar.update(
                    progress.get("done"), progress.get("total"), progress.get("stage") or current.state
                )
                if timeout is not None and time.monotonic() - started > timeout:
                    raise JobTimeout(
                        f"job {current.uuid} ({current.kind}) is still {current.state} after {timeout:.0f}s; "
                        f"it goes on on the server: wait again with leakledger wait {current.uuid}",
                        url=current.url,
                    )
                time.sleep(delay)
                delay = min(delay * 1.5, 5.0)
                current = self.job(current.uuid)
        finally:
            bar.close()
        if current.state == "failed":
            error = dict(current.error or {})
            fields = {k: v for k, v in error.items() if k not in ("detail", "code", "message", "fields")}
            fields["job"] = current.url
            raise JobFailed(
                # The status the server answers with when such a job fails inside the request.
                JOB_ERROR_STATUS.get(str(error.get("code")), 400),
                str(error.get("detail") or error.get("message") or "the job failed"),
                str(error.get("code") or "job_failed"),
                fields,
                method="GET",
                url=current.url,
            )
        return current

    def _finished_job(self, data: dict[str, Any], *, wait: bool, timeout: float | None, label: str) -> Job:
        job = Job.from_json(data)
        if wait and not job.finished:
            job = self.wait(job, timeout=timeout, label=label)
        return job

    # -- datasets ----------------------------------------------------------------------------------

    def version(self, ref: str) -> DatasetVersion:
        """A dataset version by ``name@version`` or UUID."""
        return DatasetVersion.from_json(self.transport.json("GET", f"versions/{ref}/"))

    def register_dataset(
        self,
        path: PathLike,
        *,
        name: str,
        kind: str | None = None,
        version: str | None = None,
        license: str | None = None,
        description: str | None = None,
        source: str | None = None,
        derived_from: str | None = None,
        transform: str | None = None,
        role: str | None = None,
        format: str | None = None,
        id_column: str | None = None,
        sequence_column: str | None = None,
        skip_identical_duplicates: bool = False,
        timeout: float | None = None,
    ) -> DatasetVersion:
        """Upload a file (streamed from disk) as a new version of dataset ``name``.

        The server validates the whole file before writing anything; a refusal raises
        ``InputRejected`` (eager server) or ``JobFailed`` (server with workers) whose ``fields`` name
        the file, line and record. Registering content that is already registered returns the
        existing version with ``created=False``.

        Args:
            kind: ``protein``, ``dna``, ``rna`` or ``text`` (required for a new dataset).
            role: ``training`` or ``benchmark``: takes part in standing overlap checks at once.
            derived_from, transform: lineage (``name@version`` and what was done to it).
            timeout: seconds to wait for the ingest job (default: as long as it takes).
        """
        upload = file_path(path)
        fields = {
            "kind": kind,
            "version": version,
            "license": license,
            "description": description,
            "source": source,
            "derived_from": derived_from,
            "transform": transform,
            "role": role,
            "format": format,
            "id_column": id_column,
            "sequence_column": sequence_column,
            "skip_identical_duplicates": skip_identical_duplicates or None,
        }
        return self._upload_version(f"datasets/{name}/versions/", upload, fields, timeout)

    def register_sketch(
        self,
        path: PathLike,
        *,
        name: str,
        kind: str | None = None,
        version: str | None = None,
        license: str | None = None,
        description: str | None = None,
        source: str | None = None,
        role: str | None = "training",
        timeout: float | None = None,
    ) -> DatasetVersion:
        """Upload a sketch file (:meth:`sketch`, ``leakledger sketch``) as a sketch-only version of ``name``.

        The server never receives residues: per record the sha256 of the normalised sequence, its
        length and its MinHash signature. Checks against the version match sha256 exactly and
        estimate the rest from Jaccard (unverified, not aligned); its records cannot be downloaded.
        """
        upload = file_path(path)
        fields = {
            "kind": kind,
            "version": version,
            "license": license,
            "description": description,
            "source": source,
            "role": role,
        }
        return self._upload_version(f"datasets/{name}/sketches/", upload, fields, timeout)

    def _upload_version(
        self, endpoint: str, upload: Path, fields: dict, timeout: float | None
    ) -> DatasetVersion:
        """Stream ``upload`` with ``fields`` (None left out) to ``endpoint``, wait for the ingest, read the version."""
        bar = Progress(f"upload {upload.name}", enabled=self.progress, unit="bytes")
        body = MultipartStream(
            [(k, _form_value(v)) for k, v in fields.items() if v is not None],
            [("file", upload)],
            on_progress=lambda done, total: bar.update(done, total, "sending"),
        )
        try:
            data = self.transport.json("POST", endpoint, body=body)
        finally:
            bar.close()
        job = self._finished_job(data, wait=True, timeout=timeout, label=f"ingest {upload.name}")
        created = job.result.get("created")
        target = job.version_url or f"versions/{job.result['ref']}/"
        return DatasetVersion.from_json(
            self.transport.json("GET", target), created=None if created is None else bool(created)
        )

    @staticmethod
    def sketch(
        path: PathLike,
        out: PathLike,
        *,
        kind: str = "protein",
        format: str | None = None,
        skip_identical_duplicates: bool = False,
    ) -> dict[str, Any]:
        """Sketch a sequence file locally into a ``.llsk`` file (no server involved); returns its header.

        Per record: the sha256 of the normalised sequence, its length and its MinHash signature with
        the registry's default parameters for ``kind`` (``dedup.llsk``); never the residues.
        """
        from dedup.llsk import write_sketch

        return write_sketch(
            Path(path),
            Path(out),
            kind=kind,
            file_format=format,
            skip_identical_duplicates=skip_identical_duplicates,
        )

    def register_split(
        self,
        version: str | DatasetVersion,
        *,
        name: str,
        mapping: Mapping[str, Iterable[str]] | PathLike | None = None,
        from_header: str | None = None,
        roles: Mapping[str, str] | None = None,
        allow_shared_ids: bool = False,
    ) -> Split:
        """Register a split of ``version``: ``mapping`` ({part: [record ids]}, or a JSON / ``id<TAB>part``
        file, sent as a file), or ``from_header`` (read ``KEY=part`` from each record's header).

        ``roles`` gives a part's role (``train``, ``validation``, ``test``, ``other``) when its name
        does not say it. Ids in two parts are refused unless ``allow_shared_ids``.
        """
        ref = version.ref if isinstance(version, DatasetVersion) else version
        if mapping is not None and not isinstance(mapping, Mapping):
            fields = [("name", name), ("allow_shared_ids", _form_value(allow_shared_ids))]
            if roles:
                fields.append(("roles", json.dumps(dict(roles))))
            body = MultipartStream(fields, [("mapping_file", file_path(mapping))])
            data = self.transport.json("POST", f"versions/{ref}/splits/", body=body)
        else:
            payload: dict[str, Any] = {"name": name, "allow_shared_ids": allow_shared_ids}
            if mapping is not None:
                payload["mapping"] = {part: list(ids) for part, ids in mapping.items()}
            if from_header:
                payload["from_header"] = from_header
            if roles:
                payload["roles"] = dict(roles)
            data = self.transport.json("POST", f"versions/{ref}/splits/", json_body=payload)
        return Split.from_json(data)

    def records(self, ref: str, *, page_size: int = 1000) -> Iterator[Record]:
        """The records of a version (``name@version``) or split part (``name@version/split:part``), in file order."""
        url: str | None = self._records_url(ref)
        params: dict[str, Any] | None = {"page_size": page_size}
        while url:
            page = self.transport.json("GET", url, params=params)
            params = None  # the next link carries them
            for row in page.get("results", []):
                yield Record.from_json(row)
            url = page.get("next")

    def _records_url(self, ref: str) -> str:
        if not _is_part_ref(ref):
            return f"versions/{ref}/records/"
        version_ref = ref.split("/", 1)[0]
        version = self.version(version_ref)
        for split in version.splits:
            for part in split.parts:
                if part.ref == ref:
                    return part.records_url or f"parts/{part.uuid}/records/"
        parts = ", ".join(p.ref for s in version.splits for p in s.parts) or "none"
        raise LeakLedgerError(f"{version_ref} has no split part {ref!r}; its parts: {parts}")

    def download(self, ref: str, path: PathLike | None = None, *, format: str = "fasta") -> Path:
        """Write the records of a version or split part to ``path`` (FASTA or CSV), streamed.

        For a version the file is the server's download, checked against its ``X-Content-SHA256``
        (the sha256 the Croissant metadata names); a mismatch removes the file and raises.
        """
        if format not in ("fasta", "csv"):
            raise ValueError(f"format {format!r}: use fasta or csv")
        default_name = re.sub(r"[^A-Za-z0-9._-]+", "_", ref) + f".{format}"
        target = Path(path) if path is not None else Path(default_name)
        if _is_part_ref(ref):
            self._write_records(ref, target, format)
            return target
        response = self.transport.request(
            "GET", f"versions/{ref}/records.{format}", accept="*/*", stream=True
        )
        expected = response.headers.get("X-Content-SHA256")
        digest = hashlib.sha256()
        partial = target.with_name(target.name + ".part")
        with open(partial, "wb") as out:
            for chunk in response.iter_content(1 << 20):
                digest.update(chunk)
                out.write(chunk)
        if expected and digest.hexdigest() != expected:
            partial.unlink(missing_ok=True)
            raise LeakLedgerError(
                f"download of {ref} is corrupt: sha256 {digest.hexdigest()} but the server announced {expected}"
            )
        partial.replace(target)
        return target

    def _write_records(self, ref: str, target: Path, format: str) -> None:
        with open(target, "w", encoding="utf-8", newline="") as out:
            if format == "fasta":
                for r in self.records(ref):
                    header = f"{r.identifier} {r.description}".rstrip()
                    out.write(f">{header}\n{r.sequence}\n")
            else:
                writer = csv.writer(out)
                writer.writerow(["identifier", "description", "sequence"])
                for r in self.records(ref):
                    writer.writerow([r.identifier, r.description, r.sequence])

    def dataframe(self, ref: str) -> pandas.DataFrame:
        """The records of a version or split part as a pandas DataFrame (``pip install leakledger-client[pandas]``).

        Columns: position, identifier, description, sha256, length, sequence.
        """
        try:
            import pandas
        except ImportError:
            raise LeakLedgerError(
                "Client.dataframe needs pandas: pip install 'leakledger-client[pandas]'"
            ) from None
        columns = ["position", "identifier", "description", "sha256", "length", "sequence"]
        rows = [[getattr(r, c) for c in columns] for r in self.records(ref)]
        return pandas.DataFrame(rows, columns=columns)

    # -- models and evaluations ---------------------------------------------------------------------

    def model_version(self, ref: str) -> ModelVersion:
        return ModelVersion.from_json(self.transport.json("GET", f"model-versions/{ref}/"))

    def register_model(
        self,
        ref: str,
        *,
        trained_on: Iterable[str | DatasetVersion] = (),
        base: str | ModelVersion | None = None,
        code_url: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        description: str | None = None,
        exist_ok: bool = False,
    ) -> ModelVersion:
        """Register model version ``name@version`` trained on record sets, optionally fine-tuned from ``base``.

        Model versions are immutable: registering ``ref`` again raises ``Conflict``, unless
        ``exist_ok`` and the registered one has the same training sets and base (a re-run of the
        same training script), which is then returned.
        """
        sets = sorted(t.ref if isinstance(t, DatasetVersion) else t for t in trained_on)
        base_ref = base.ref if isinstance(base, ModelVersion) else base
        payload: dict[str, Any] = {"ref": ref, "trained_on": sets}
        if base_ref:
            payload["base"] = base_ref
        if code_url:
            payload["code_url"] = code_url
        if parameters:
            payload["parameters"] = dict(parameters)
        if description:
            payload["description"] = description
        try:
            return ModelVersion.from_json(self.transport.json("POST", "model-versions/", json_body=payload))
        except Conflict as exc:
            if not exist_ok:
                raise
            existing = self.model_version(ref)
            if sorted(existing.trained_on) == sets and existing.base == base_ref:
                return existing
            raise Conflict(
                exc.status,
                f"{exc.detail} The registered {ref} was trained on {existing.trained_on} (base {existing.base}), "
                f"not {sets} (base {base_ref}): register a new version.",
                exc.code,
                exc.fields,
                method=exc.method,
                url=exc.url,
            ) from None

    def evaluation(self, uuid: str) -> Evaluation:
        return Evaluation.from_json(self.transport.json("GET", f"evaluations/{uuid}/"))

    def record_evaluation(
        self,
        model_version: str | ModelVersion,
        *,
        on: str | DatasetVersion,
        metrics: Mapping[str, float],
        scores: Mapping[str, Mapping[str, float]] | PathLike | pandas.DataFrame | None = None,
        code_ref: str | None = None,
    ) -> Evaluation:
        """Record an evaluation of ``model_version`` on record set ``on``.

        ``scores`` are per-record scores: ``{record id: {metric: value}}``, a CSV/TSV file with an
        ``id`` column and one column per metric, or a DataFrame with an ``id`` column. They are sent
        as a file (any size); with them, the contamination report recomputes each metric on the
        clean subset. The report is computed in the background: ``contamination()`` waits for it.
        """
        model_ref = model_version.ref if isinstance(model_version, ModelVersion) else model_version
        on_ref = on.ref if isinstance(on, DatasetVersion) else on
        fields = [("model_version", model_ref), ("on", on_ref), ("metrics", json.dumps(dict(metrics)))]
        if code_ref:
            fields.append(("code_ref", code_ref))
        if scores is None:
            payload: dict[str, Any] = {"model_version": model_ref, "on": on_ref, "metrics": dict(metrics)}
            if code_ref:
                payload["code_ref"] = code_ref
            return Evaluation.from_json(self.transport.json("POST", "evaluations/", json_body=payload))
        with tempfile.TemporaryDirectory(prefix="leakledger-") as tmp:
            scores_file = self._scores_file(scores, Path(tmp))
            body = MultipartStream(fields, [("scores_file", scores_file)])
            return Evaluation.from_json(self.transport.json("POST", "evaluations/", body=body))

    @staticmethod
    def _scores_file(scores: Any, tmp: Path) -> Path:
        if isinstance(scores, str | os.PathLike):
            return file_path(scores)
        target = tmp / "scores.tsv"
        if hasattr(scores, "to_csv"):  # a pandas DataFrame
            if "id" not in scores.columns:
                raise ValueError("the scores DataFrame needs an 'id' column (the record identifiers)")
            scores.to_csv(target, sep="\t", index=False)
            return target
        metric_names = sorted({m for values in scores.values() for m in values})
        with open(target, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, delimiter="\t", lineterminator="\n")
            writer.writerow(["id", *metric_names])
            for identifier, values in scores.items():
                missing = [m for m in metric_names if m not in values]
                if missing:
                    raise ValueError(
                        f"scores of record {identifier!r} lack {missing}; give every metric for every record"
                    )
                writer.writerow([identifier, *(repr(float(values[m])) for m in metric_names)])
        return target

    def contamination(
        self, evaluation: str | Evaluation, *, wait: bool = True, timeout: float | None = None
    ) -> ContaminationReport:
        """The evaluation's full contamination report (every contaminated record's best hit).

        It is computed in the background after the evaluation is recorded; ``wait`` (default) polls
        until it exists, with progress; otherwise ``NotReady`` is raised while it is pending.
        """
        key = evaluation.uuid if isinstance(evaluation, Evaluation) else evaluation
        timeout = timeout if timeout is not None else self.wait_timeout
        bar = Progress(f"contamination report of evaluation {key[:8]}", enabled=self.progress, unit="s")
        started = time.monotonic()
        delay = self.poll_interval
        try:
            while True:
                try:
                    return ContaminationReport.from_json(
                        self.transport.json("GET", f"evaluations/{key}/contamination/")
                    )
                except NotReady:
                    if not wait:
                        raise
                elapsed = time.monotonic() - started
                if timeout is not None and elapsed > timeout:
                    raise JobTimeout(
                        f"the contamination report of evaluation {key} is not ready after {timeout:.0f}s; it is "
                        "computed in the background (ask again later, or look at the server's jobs)"
                    ) from None
                bar.update(int(elapsed), None, "computing on the server")
                time.sleep(delay)
                delay = min(delay * 1.5, 5.0)
        finally:
            bar.close()

    # -- overlap ----------------------------------------------------------------------------------------

    def check(
        self,
        benchmark: PathLike | str,
        *,
        against: str | PathLike | Iterable[str | PathLike] | None = None,
        against_model: str | ModelVersion | None = None,
        identity: float = 0.9,
        coverage: float = 0.8,
        tiers: Iterable[str] | None = None,
        kind: str | None = None,
        format: str | None = None,
        timeout: float | None = None,
    ) -> OverlapResult:
        """Does ``benchmark`` overlap training data? A file (sent, not registered) or a record set reference.

        Against every registered training set of the kind (default), named record sets
        (``against``), or a model version's whole training ancestry (``against_model``). When every
        ``against`` is a local file, nothing is sent: the check runs here with the ``dedup`` library,
        the same tiers and settings as ``python -m dedup overlap``.
        """
        against_list = [against] if isinstance(against, str | os.PathLike) else list(against or [])
        local = [a for a in against_list if Path(a).is_file()]
        if local and len(local) != len(against_list):
            raise ValueError(
                "against: give either local files (checked here) or registered references, not both"
            )
        if local:
            if against_model is not None:
                raise ValueError("against_model needs the server; drop it to check against local files")
            return check_local(benchmark, local, identity=identity, coverage=coverage, tiers=tiers, kind=kind)
        model_ref = against_model.ref if isinstance(against_model, ModelVersion) else against_model
        options: dict[str, Any] = {"identity": identity, "coverage": coverage}
        if kind:
            options["kind"] = kind
        if format:
            options["format"] = format
        if model_ref:
            options["against_model"] = model_ref
        refs = [str(a) for a in against_list if str(a) != "all"]
        tier_list = list(tiers or [])
        path = Path(benchmark)
        if path.is_file():
            fields = [(k, _form_value(v)) for k, v in options.items()]
            fields += [("against", r) for r in refs] + [("tiers", t) for t in tier_list]
            body = MultipartStream(fields, [("file", path)])
            data = self.transport.json("POST", "overlap/query/", body=body)
        elif "@" not in str(benchmark):
            raise FileNotFoundError(
                f"{benchmark}: no such file, and not a record set reference (name@version[/split:part])"
            )
        else:
            payload = {**options, "record_set": str(benchmark)}
            if refs:
                payload["against"] = refs
            if tier_list:
                payload["tiers"] = tier_list
            data = self.transport.json("POST", "overlap/query/", json_body=payload)
        job = self._finished_job(data, wait=True, timeout=timeout, label=f"check {path.name}")
        return OverlapResult.from_json(job.result)

    # -- citations ----------------------------------------------------------------------------------

    def cite(self, target: str | DatasetVersion | Evaluation, format: str = "bibtex") -> str:
        """The citation of a dataset version (``name@version``) or an evaluation (UUID), bound to its digest."""
        if format not in CITATION_FORMATS:
            raise ValueError(f"format {format!r}: use one of {', '.join(CITATION_FORMATS)}")
        if isinstance(target, Evaluation):
            path = f"evaluations/{target.uuid}/cite/"
        elif isinstance(target, DatasetVersion):
            path = f"versions/{target.ref}/cite/"
        elif UUID_RE.match(target):
            path = f"evaluations/{target}/cite/"
            response = self.transport.request("GET", path, params={"format": format}, accept="*/*", ok=(404,))
            if response.status_code != 404:
                return response.text
            path = f"versions/{target}/cite/"
        else:
            path = f"versions/{target}/cite/"
        return self.transport.request("GET", path, params={"format": format}, accept="*/*").text


def check_local(
    benchmark: PathLike | str,
    references: list[PathLike | str],
    *,
    identity: float = 0.9,
    coverage: float = 0.8,
    tiers: Iterable[str] | None = None,
    kind: str | None = None,
) -> OverlapResult:
    """``benchmark`` against local reference files with the ``dedup`` library, nothing sent anywhere."""
    import dedup

    kind = kind or "protein"
    names = [str(r) for r in references]
    merged: list[tuple[str, str]] = []
    for index, ref in enumerate(references):
        merged += [(f"{index}\t{ident}", seq) for ident, seq in dedup.read_sequences(ref, kind=kind)]
    result = dedup.find_overlap(
        str(benchmark),
        merged,
        kind=kind,
        identity=identity,
        coverage=coverage,
        tiers=tuple(tiers or ("exact", "minhash")),
    )
    pairs = []
    for hit in result.hits:
        file_index, _, ident = hit.reference.partition("\t")
        pairs.append(
            Pair(
                query=hit.query,
                reference=ident,
                reference_set=names[int(file_index)],
                identity=hit.identity,
                coverage=hit.query_coverage,
                reference_coverage=hit.reference_coverage,
                jaccard=hit.jaccard,
                tier=hit.tier,
            )
        )
    pairs.sort(key=lambda p: (-p.identity, p.query))
    rows = [
        Threshold(
            identity=row.threshold,
            label=row.label,
            records=row.queries or 0,
            fraction=row.fraction or 0.0,
            by_tier=dict(row.by_tier),
            recall=row.recall,
        )
        for row in result.summary
        if row.threshold + 1e-9 >= identity  # below it nothing was searched for
    ]
    return OverlapResult(
        query=str(benchmark),
        query_records=result.query_count,
        thresholds=rows,
        pairs=pairs,
        references=[{"ref": n} for n in names],
        coverage=coverage,
        method=result.method() if callable(getattr(result, "method", None)) else {},
        where="local",
    )
