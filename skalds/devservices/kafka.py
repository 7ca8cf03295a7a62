"""Apache Kafka as one KRaft node (broker + controller) from Maven Central jars.

There is no Debian package and no Docker here, but Maven Central has ``kafka_2.13`` with all its
runtime dependencies. Its pom lacks a logging backend (the release tarball adds one from other
modules), so the throw-away pom below adds reload4j for 3.x and log4j2 for 4.x.
"""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

from .cache import digest, ensure_entry, is_complete
from .config import HOST
from .console import phase, say
from .errors import ServiceError
from .procs import ProcRecord, run_logged
from .readiness import KafkaProbe, Probe
from .service import Service, launch
from .tools import require

DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
JVM_OPTS = ["-Xms256m", "-Xmx1g", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true"]

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.skalds</groupId><artifactId>kafka-runtime</artifactId><version>0</version>
  <packaging>pom</packaging>
  <dependencies>
{dependencies}
  </dependencies>
</project>
"""

# 3.x: what the release tarball ships (reload4j is log4j 1.2 with the CVEs fixed).
_LOGGING_3 = [("org.slf4j", "slf4j-reload4j", "1.7.36"), ("ch.qos.reload4j", "reload4j", "1.2.25")]
# 4.x: log4j2 behind slf4j 1.7 (Kafka 4 still uses slf4j-api 1.7.36).
_LOGGING_4 = [("org.apache.logging.log4j", "log4j-slf4j-impl", "2.24.3"),
              ("org.apache.logging.log4j", "log4j-core", "2.24.3")]


def _dependency(group: str, artifact: str, version: str) -> str:
    return (f"    <dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version></dependency>")


class Kafka(Service):
    name = "kafka"
    ready_deadline_s = 90.0

    @property
    def port(self) -> int:
        return self.settings.kafka_port

    @property
    def version(self) -> str:
        return self.settings.kafka_version

    @property
    def major(self) -> int:
        try:
            return int(self.version.split(".", 1)[0])
        except ValueError as exc:
            raise ServiceError(self.name, f"cannot parse SKALDS_KAFKA_VERSION={self.version!r}") from exc

    @property
    def log(self) -> Path:
        return self.dir / "server.log"

    def probe(self) -> Probe:
        return KafkaProbe(self.port)

    def other_ports(self) -> list[int]:
        return [self.settings.kafka_controller_port]

    # -- install --------------------------------------------------------------------------------
    def pom(self) -> str:
        deps = [("org.apache.kafka", "kafka_2.13", self.version), *(_LOGGING_4 if self.major >= 4 else _LOGGING_3)]
        return _POM.format(dependencies="\n".join(_dependency(*d) for d in deps))

    def libs(self) -> Path:
        """The lib dir for this version in the shared cache, fetched with Maven on first use."""
        pom = self.pom()
        entry = self.settings.cache_dir / "kafka" / f"{self.version}-{digest(pom)}"
        build_log = self.dir / "install.log"

        def build(tmp: Path) -> None:
            mvn = require(self.name, "mvn", "maven", build_log)
            (tmp / "pom.xml").write_text(pom)
            # -Dmaven.repo.local is left alone: ~/.m2 is the cache CI and developers already keep.
            run_logged(self.name, [mvn, "-B", "-ntp", "-Dstyle.color=never", "-f", str(tmp / "pom.xml"),
                                   f"{DEPENDENCY_PLUGIN}:copy-dependencies", "-DincludeScope=runtime",
                                   f"-DoutputDirectory={tmp / 'libs'}"], build_log, what="mvn copy-dependencies")
            if not (tmp / "libs" / f"kafka_2.13-{self.version}.jar").is_file():
                raise ServiceError(self.name, f"Maven did not deliver kafka_2.13-{self.version}.jar", build_log)

        if is_complete(entry):
            say(self.name, f"using cached jars {entry}")
        else:
            with phase(self.name, f"fetching Kafka {self.version} jars from Maven Central (first time, ~1 min) "
                                  f"into {entry}"):
                ensure_entry(entry, build)
        return entry / "libs"

    # -- configure and start --------------------------------------------------------------------
    def _write_config(self) -> tuple[Path, list[str]]:
        """server.properties plus the logging config; returns the properties path and JVM log flags."""
        path = self.dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in self._properties().items()))
        return path, self._write_logging_config()

    def _properties(self) -> dict[str, str]:
        """A single-node KRaft broker and controller, sized for tests."""
        s = self.settings
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            # static quorum: works on 3.9 and 4.x, and needs no --standalone at format time
            "controller.quorum.voters": f"1@{HOST}:{s.kafka_controller_port}",
            "listeners": f"PLAINTEXT://{HOST}:{s.kafka_port},CONTROLLER://{HOST}:{s.kafka_controller_port}",
            "advertised.listeners": f"PLAINTEXT://{HOST}:{s.kafka_port}",
            "inter.broker.listener.name": "PLAINTEXT",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "num.partitions": "1",
            "default.replication.factor": "1",
            "min.insync.replicas": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "1",  # default 50 makes the first group join slow
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "num.network.threads": "2",
            "num.io.threads": "4",
        }
        if self.major >= 4:
            props["share.coordinator.state.topic.replication.factor"] = "1"
            props["share.coordinator.state.topic.min.isr"] = "1"
        return props

    def _write_logging_config(self) -> list[str]:
        """Kafka's own log goes to one file (log4j2 from 4.x, log4j before); returns the JVM flags."""
        if self.major >= 4:
            cfg = self.dir / "log4j2.properties"
            cfg.write_text(
                "status = warn\n"
                "appender.f.type = File\nappender.f.name = F\n"
                f"appender.f.fileName = {self.log}\n"
                "appender.f.layout.type = PatternLayout\n"
                "appender.f.layout.pattern = [%d] %p %m (%c)%n\n"
                "rootLogger.level = INFO\nrootLogger.appenderRef.f.ref = F\n"
            )
            return [f"-Dlog4j2.configurationFile={cfg}"]
        cfg = self.dir / "log4j.properties"
        cfg.write_text(
            "log4j.rootLogger=INFO, file\n"
            "log4j.appender.file=org.apache.log4j.FileAppender\n"
            f"log4j.appender.file.File={self.log}\n"
            "log4j.appender.file.layout=org.apache.log4j.PatternLayout\n"
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n\n"
        )
        return [f"-Dlog4j.configuration=file:{cfg}"]

    def start(self) -> ProcRecord:
        java = require(self.name, "java", "openjdk-17-jre-headless", self.dir / "install.log")
        libs = self.libs()
        classpath = f"{libs}/*"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for old in (self.log, self.dir / "stdout.log"):
            old.unlink(missing_ok=True)
        props, log_flags = self._write_config()
        if (self.data_dir / "meta.properties").exists():
            say(self.name, f"reusing the data (topics, offsets, cluster id) in {self.data_dir}")
        else:
            cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
            with phase(self.name, "formatting KRaft storage"):
                run_logged(self.name, [java, *log_flags, "-cp", classpath, "kafka.tools.StorageTool", "format",
                                       # `=`: an id may start with "-" (1 in 64), which the tool reads as an option
                                       f"--cluster-id={cluster_id}", "-c", str(props), "--ignore-formatted"],
                           self.dir / "format.log", what="kafka-storage format")
        env = dict(os.environ)
        env.pop("KAFKA_OPTS", None)  # a developer's own Kafka settings must not leak into this broker
        with phase(self.name, f"starting Kafka {self.version} on {HOST}:{self.port}"):
            return launch(self, [java, *JVM_OPTS, *log_flags, "-cp", classpath, "kafka.Kafka", str(props)],
                          markers=["kafka.Kafka", str(props)], output=self.dir / "stdout.log",
                          logs=[self.log, self.dir / "stdout.log"], env=env)
