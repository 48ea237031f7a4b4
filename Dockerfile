# Builds the stratos-ledger executable and runs it on a slim image with libpq.
FROM swift:6.0-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev pkg-config && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Package.swift ./
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --product stratos-ledger

FROM swift:6.0-bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/.build/release/stratos-ledger /usr/local/bin/stratos-ledger
COPY Schema ./Schema
COPY Projections ./Projections
COPY Package.swift ./
ENV STRATOS_SCHEMA_DIR=/app/Schema STRATOS_PROJECTIONS_DIR=/app/Projections
ENTRYPOINT ["stratos-ledger"]
