use durable::{activity, orchestrator, ActivityError, OrchestrationContext};
#[allow(non_camel_case_types)]
struct request_approval {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for request_approval {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for request_approval {
    #[inline]
    fn clone(&self) -> request_approval {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for request_approval {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for request_approval {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "request_approval")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for request_approval {
    #[inline]
    fn default() -> request_approval {
        request_approval {}
    }
}
///Names activity `request_approval`: pass it to `ctx.call` and `.activity(..)`.
fn request_approval() -> request_approval {
    request_approval {}
}
impl request_approval {
    ///Runs the body of activity `request_approval` directly, outside any orchestration.
    async fn run(amount: u64) -> Result<bool, ActivityError> {
        Ok(amount < 1000)
    }
}
impl ::durable::Activity for request_approval {
    type Input = u64;
    type Output = <Result<bool, ActivityError> as ::durable::__private::Outcome>::Ok;
    type Error = <Result<bool, ActivityError> as ::durable::__private::Outcome>::Err;
    const NAME: &'static str = "request_approval";
    fn execute(
        ctx: ::durable::ActivityContext,
        input: Self::Input,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Self as ::durable::Activity>::Output,
            <Self as ::durable::Activity>::Error,
        >,
    > + ::core::marker::Send {
        let _ = ctx;
        Self::run(input)
    }
}
#[allow(non_camel_case_types)]
struct pay {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for pay {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for pay {
    #[inline]
    fn clone(&self) -> pay {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for pay {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for pay {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "pay")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for pay {
    #[inline]
    fn default() -> pay {
        pay {}
    }
}
///Names activity `pay`: pass it to `ctx.call` and `.activity(..)`.
fn pay() -> pay {
    pay {}
}
impl pay {
    ///Runs the body of activity `pay` directly, outside any orchestration.
    async fn run(amount: u64) -> Result<u64, ActivityError> {
        Ok(amount)
    }
}
impl ::durable::Activity for pay {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    type Error = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Err;
    const NAME: &'static str = "pay";
    fn execute(
        ctx: ::durable::ActivityContext,
        input: Self::Input,
    ) -> impl ::core::future::Future<
        Output = ::core::result::Result<
            <Self as ::durable::Activity>::Output,
            <Self as ::durable::Activity>::Error,
        >,
    > + ::core::marker::Send {
        let _ = ctx;
        Self::run(input)
    }
}
#[allow(non_camel_case_types)]
struct approve_and_pay {}
#[automatically_derived]
#[doc(hidden)]
#[allow(non_camel_case_types)]
unsafe impl ::core::clone::TrivialClone for approve_and_pay {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::clone::Clone for approve_and_pay {
    #[inline]
    fn clone(&self) -> approve_and_pay {
        *self
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::marker::Copy for approve_and_pay {}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::fmt::Debug for approve_and_pay {
    #[inline]
    fn fmt(&self, f: &mut ::core::fmt::Formatter) -> ::core::fmt::Result {
        ::core::fmt::Formatter::write_str(f, "approve_and_pay")
    }
}
#[automatically_derived]
#[allow(non_camel_case_types)]
impl ::core::default::Default for approve_and_pay {
    #[inline]
    fn default() -> approve_and_pay {
        approve_and_pay {}
    }
}
///Names orchestration `approval`: pass it to `.orchestration(..)`, `client.start` and `ctx.sub_orchestration`.
fn approve_and_pay() -> approve_and_pay {
    approve_and_pay {}
}
impl ::durable::Orchestration for approve_and_pay {
    type Input = u64;
    type Output = <Result<u64, ActivityError> as ::durable::__private::Outcome>::Ok;
    const NAME: &'static str = "approval";
    const VERSION: u32 = 1u32;
    const MIGRATES_FROM: &'static [u32] = &[];
    fn step(
        ctx: &::durable::OrchestrationContext,
        input: ::durable::StepInput<'_>,
    ) -> ::core::result::Result<::durable::Step, ::durable::StepError> {
        #[allow(unreachable_code, unused_mut, unused_braces, clippy::needless_return)]
        fn __machine(
            __ctx: &::durable::OrchestrationContext,
            __step: &mut ::durable::__private::StepIo<'_>,
        ) -> <Result<u64, ActivityError> as ::durable::__private::Outcome>::Machine {
            let ctx: OrchestrationContext = ::core::clone::Clone::clone(__ctx);
            let mut __s_amount = ::durable::__private::Slot::new();
            let mut __s_v_3e8600f8 = ::durable::__private::Slot::new();
            let mut __w1 = ::durable::__private::Slot::new();
            let mut __w2 = ::durable::__private::Slot::new();
            static __P1: ::durable::__private::Point = ::durable::__private::Point::new(
                14119181137467417679u64,
                "../../../../tests/expand/approval.rs",
                "ctx.call(request_approval, amount) at line 18:54",
                &["amount"],
            );
            static __P2: ::durable::__private::Point = ::durable::__private::Point::new(
                12774342889168536581u64,
                "../../../../tests/expand/approval.rs",
                "ctx.call(pay, amount) at line 19:31",
                &[],
            );
            let mut __pc: u32 = match __step.point() {
                ::core::option::Option::None => 0u32,
                ::core::option::Option::Some(14119181137467417679u64) => 1u32,
                ::core::option::Option::Some(12774342889168536581u64) => 2u32,
                ::core::option::Option::Some(_) => {
                    return ::core::result::Result::Ok(
                        ::durable::__private::Flow::Fault(__step.unknown_point()),
                    );
                }
            };
            let mut __fault = ::core::option::Option::None;
            '__durable: loop {
                match __pc {
                    0u32 => {
                        let ::core::option::Option::Some(__input) = ::durable::__private::ok(
                            &mut __fault,
                            __step.input(),
                        ) else {
                            break '__durable;
                        };
                        let amount: u64 = __input;
                        if amount == 0 {
                            return ::durable::__private::done(Ok(0));
                        }
                        {
                            let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                &mut __fault,
                                ::durable::__private::schedule(
                                    __ctx,
                                    ctx.call(request_approval, amount),
                                ),
                            ) else {
                                break '__durable;
                            };
                            __w1.put(__scheduled);
                            __s_amount.put(amount);
                            return ::core::result::Result::Ok(
                                __step
                                    .suspend(
                                        &__P1,
                                        &__w1,
                                        &mut [::durable::__private::persist(&mut __s_amount)],
                                    ),
                            );
                        }
                    }
                    1u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step
                                .resume(
                                    __ctx,
                                    &__P1,
                                    &mut __w1,
                                    &mut [::durable::__private::persist(&mut __s_amount)],
                                ),
                        ) else {
                            break '__durable;
                        };
                        let __r_91c223bb = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step
                                        .suspend(
                                            &__P1,
                                            &__w1,
                                            &mut [::durable::__private::persist(&mut __s_amount)],
                                        ),
                                );
                            }
                        };
                        let amount = __s_amount.take();
                        let __v_3e8600f8;
                        if __r_91c223bb? {
                            {
                                let ::core::option::Option::Some(__scheduled) = ::durable::__private::ok(
                                    &mut __fault,
                                    ::durable::__private::schedule(__ctx, ctx.call(pay, amount)),
                                ) else {
                                    break '__durable;
                                };
                                __w2.put(__scheduled);
                                return ::core::result::Result::Ok(
                                    __step.suspend(&__P2, &__w2, &mut []),
                                );
                            }
                        } else {
                            __v_3e8600f8 = 0;
                            {
                                __s_v_3e8600f8.put(__v_3e8600f8);
                                __pc = 3u32;
                                continue '__durable;
                            }
                        }
                    }
                    2u32 => {
                        let ::core::option::Option::Some(__resumed) = ::durable::__private::ok(
                            &mut __fault,
                            __step.resume(__ctx, &__P2, &mut __w2, &mut []),
                        ) else {
                            break '__durable;
                        };
                        let __r_24faa66f = match __resumed {
                            ::core::option::Option::Some(value) => value,
                            ::core::option::Option::None => {
                                return ::core::result::Result::Ok(
                                    __step.suspend(&__P2, &__w2, &mut []),
                                );
                            }
                        };
                        let __v_3e8600f8;
                        __v_3e8600f8 = __r_24faa66f?;
                        {
                            __s_v_3e8600f8.put(__v_3e8600f8);
                            __pc = 3u32;
                            continue '__durable;
                        }
                    }
                    3u32 => {
                        let __v_3e8600f8 = __s_v_3e8600f8.take();
                        let paid = __v_3e8600f8;
                        return ::durable::__private::done(Ok(paid));
                    }
                    _ => break '__durable,
                }
            }
            __step.fault(__fault)
        }
        ::durable::__private::drive::<Self, _>(ctx, input, __machine)
    }
}
