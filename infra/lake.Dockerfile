# The lake's Lambda image (infra/ame_infra/lake.py runs lake.aws_job.transform_file and .finalize from it).
# A container image, not a zip + layer: duckdb and pyarrow (with numpy) exceed Lambda's 250 MB unzipped
# limit for a function and its layers; an image may be 10 GB. Build from the repository root:
#
#   docker build --platform linux/amd64 -f infra/lake.Dockerfile -t ame-lake:<tag> .
#   (push to <account>.dkr.ecr.<region>.amazonaws.com/ame-lake-<region>:<tag>, set ame-platform:lakeImageTag)
#
# The handler is set per function by the Pulumi program (ImageConfig.Command).
FROM public.ecr.aws/lambda/python:3.11
COPY app/requirements.txt constraints.txt /tmp/build/
RUN pip install --no-cache-dir -c /tmp/build/constraints.txt -r /tmp/build/requirements.txt \
        duckdb==2.0.0 pyarrow==26.0.1 boto3==1.44.5 \
    && rm -rf /tmp/build
COPY chalicelib/ ${LAMBDA_TASK_ROOT}/chalicelib/
COPY lake/ ${LAMBDA_TASK_ROOT}/lake/
ARG CODE_VERSION=unknown
ENV AME_LAKE_CODE_VERSION=${CODE_VERSION} AME_LAKE_TMP=/tmp/lake
CMD ["lake.aws_job.transform_file"]
