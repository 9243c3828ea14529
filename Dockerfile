# OrleansSim container: the simulator (entry point) and orleanssim-ctl, on the ASP.NET Core runtime.
#   docker build -t orleanssim .
#   docker run --rm -p 8000:8000 orleanssim --model Qwen/Qwen2.5-1.5B-Instruct
# Configuration: arguments after the image name, a mounted config.yaml (--config /etc/orleanssim/config.yaml),
# and the environment (SIM_MODEL, POD_NAME, POD_NAMESPACE, POD_IP, PYTHONHASHSEED).

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props NuGet.config ./
COPY src/ src/
RUN dotnet publish src/OrleansSim.Server/OrleansSim.Server.csproj -c Release -o /app/server \
 && dotnet publish src/OrleansSim.Ctl/OrleansSim.Ctl.csproj -c Release -o /app/ctl

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app/server /app/server
COPY --from=build /app/ctl /app/ctl
RUN printf '#!/bin/sh\nexec dotnet /app/ctl/orleanssim-ctl.dll "$@"\n' > /usr/local/bin/orleanssim-ctl \
 && chmod 755 /usr/local/bin/orleanssim-ctl
# The image's non-root user (uid 1654); the k8s manifests run as that uid too.
USER $APP_UID
# HTTP ranks (--port 8000, data-parallel rank r on 8000 + r), Orleans silo and gateway ports.
EXPOSE 8000-8007 11111 30000
# The aspnet image has no curl: a plain HTTP/1.0 GET over bash's /dev/tcp. HEALTH_PORT follows --port.
ENV HEALTH_PORT=8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/${HEALTH_PORT} && printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]
ENTRYPOINT ["dotnet", "/app/server/OrleansSim.Server.dll"]
